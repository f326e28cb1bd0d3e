//! README's command reference is `ncs CMD -h` for every command, verbatim, so it cannot drift
//! from the binary. `NCS_UPDATE_README=1 cargo test --test cli_help` rewrites it.

mod common;

use std::path::Path;

use common::ncs;

const START: &str = "<!-- command-reference:start (generated: NCS_UPDATE_README=1 cargo test --test cli_help) -->";
const END: &str = "<!-- command-reference:end -->";

fn help(args: &[&str]) -> String {
    let out = ncs(args);
    assert!(out.status.success(), "{args:?}: {}", common::stderr(&out));
    String::from_utf8(out.stdout).unwrap().lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

/// The subcommands `ncs -h` lists, in its order.
fn commands() -> Vec<String> {
    let top = help(&["-h"]);
    let list = top.split("Commands:\n").nth(1).expect("a Commands: section");
    list.lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

fn reference() -> String {
    let mut text = format!("{START}\n\n```text\n$ ncs -h\n{}\n```\n", help(&["-h"]));
    for command in commands() {
        text += &format!("\n```text\n$ ncs {command} -h\n{}\n```\n", help(&[&command, "-h"]));
    }
    text + "\n" + END
}

#[test]
fn readme_command_reference_is_the_help_text() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (Some(start), Some(end)) = (readme.find(START), readme.find(END)) else {
        panic!("README.md lacks the command reference markers `{START}` … `{END}`");
    };
    let current = &readme[start..end + END.len()];
    let wanted = reference();
    if std::env::var_os("NCS_UPDATE_README").is_some() {
        std::fs::write(&path, readme.replace(current, &wanted)).unwrap();
        return;
    }
    assert!(
        current == wanted,
        "README.md's command reference differs from `ncs CMD -h`; run NCS_UPDATE_README=1 cargo test --test cli_help"
    );
    assert!(commands().len() >= 10, "{:?}", commands());
}
