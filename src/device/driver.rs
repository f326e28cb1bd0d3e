//! The native NCS1 driver: boot a stick, allocate a graph, pipeline inferences.
//!
//! One file (~410 lines) on purpose: it is the driver's state machine for one stick, read top
//! to bottom; options (`options.rs`), telemetry (`telemetry.rs`) and the wire live elsewhere.
//!
//! Threading model: a [`Device`] is `Send` and owned by one thread at a time (`&mut self`
//! everywhere), so there is no internal locking and no lock to leak on a failed write. Drive
//! several sticks from several threads, one `Device` each. A device holds at most one graph
//! (the firmware's limit) and at most two inferences in flight; exceeding either is an error,
//! never a hang.
//!
//! Lifecycle: [`Device::open`] recovers a stick left booted and boots it; dropping a `Device`
//! (or [`Device::close`]) resets the stick and waits for it to settle, so the next open finds
//! it in its ROM (`docs/usb_protocol.md` §5).

use std::collections::VecDeque;
use std::thread::sleep;
use std::time::{Duration, Instant};

use half::f16;
use serde_json::json;

use crate::blob::{Blob, GraphFile};

use super::boot::{self, Firmware};
use super::error::DeviceError;
use super::link::Link;
use super::options::{GraphOptions, OpenOptions, ThermalOptions};
use super::recover;
use super::telemetry::{parse_aux, Telemetry};
use super::trace::Tracer;
use super::transport::{Bus, OpenName, StickState, UsbId};
use super::wire::{aux, Buffer, Config, Status, OPTIMIZATION_LIST_LEN};

/// Pause between retries of a refused result (`mvnc_api.c` 972).
const RESULT_RETRY_PAUSE: Duration = Duration::from_millis(1);

#[derive(Debug)]
struct GraphState {
    stages: usize,
    input_len: usize,
    output_len: usize,
    options: GraphOptions,
    config_sent: Option<Config>,
    queued: VecDeque<u64>,
    next_slot: Buffer,
}

/// An opened, booted stick. Dropping it closes it (see [`Device::close`]).
#[derive(Debug)]
pub struct Device {
    link: Link,
    id: UsbId,
    booted: UsbId,
    closed: bool,
    result_wait: Duration,
    close_settle: Duration,
    thermal: ThermalOptions,
    graph: Option<GraphState>,
    telemetry: Telemetry,
    optimisation_list: Option<Vec<String>>,
    tracer: Option<Tracer>,
}

impl Device {
    /// Opens the stick called `name`, booting it with `firmware`. Names are ncs's `bus-ports`
    /// (`"1-2.3"`), Intel's port path alone (`"2.3"`, any bus), or Intel's `"a:b"`: boot the
    /// stick at `a`, then open its booted firmware at `b` ([`OpenName`]). A stick left booted
    /// (a crashed process, a leaked `Device`, `ncs boot`) is reset and booted afresh
    /// ([`recover::left_booted`]).
    pub fn open(bus: &dyn Bus, name: &str, firmware: &Firmware, options: &OpenOptions) -> Result<Device, DeviceError> {
        let wanted = OpenName::parse(name).map_err(DeviceError::Usage)?;
        let tracer = options.tracer.as_ref();
        let sticks = bus.sticks().map_err(|e| DeviceError::usb(name, "enumerate", e))?;
        let rom = match sticks.into_iter().find(|s| wanted.rom.matches(s) && s.state() == Some(StickState::Rom)) {
            Some(rom) => rom,
            None => recover::left_booted(bus, name, &wanted.rom, options.link_timeout, tracer)?,
        };
        boot::send_firmware(bus, &rom, firmware, tracer)?;
        let (booted, link) =
            boot::wait_for_booted(bus, &rom, wanted.booted.as_ref(), options.boot_wait, tracer, options.link_timeout)?;
        Ok(Device {
            link,
            id: rom,
            booted,
            closed: false,
            result_wait: options.result_wait,
            close_settle: options.close_settle,
            thermal: ThermalOptions::default(),
            graph: None,
            telemetry: Telemetry::default(),
            optimisation_list: None,
            tracer: options.tracer.clone(),
        })
    }

    /// The stick's name: where its ROM was (bus-ports).
    pub fn name(&self) -> String {
        self.id.name()
    }

    /// Where its booted firmware enumerated (another bus on a USB 3 port).
    pub fn booted_name(&self) -> String {
        self.booted.name()
    }

    /// Sends the reset request, then waits [`OpenOptions::close_settle`] (500 ms, as Intel) for
    /// the firmware to leave the bus: the stick returns to its ROM and a reopen boots it again.
    /// Dropping a `Device` does the same, ignoring failures.
    pub fn close(mut self) -> Result<(), DeviceError> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), DeviceError> {
        if std::mem::replace(&mut self.closed, true) {
            return Ok(());
        }
        match self.link.reset() {
            Ok(()) => {
                sleep(self.close_settle);
                Ok(())
            }
            // Gone already (unplugged, or reset under us): nothing to wait for.
            Err(e) if e.is_disconnect() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Firmware status.
    pub fn status(&mut self) -> Result<Status, DeviceError> {
        self.link.status()
    }

    /// Thermal settings.
    pub fn thermal_options(&self) -> ThermalOptions {
        self.thermal
    }

    /// Changes thermal settings; they reach the stick with the next input (re-sent, unlike NCSDK).
    pub fn set_thermal_options(&mut self, options: ThermalOptions) {
        self.thermal = options;
    }

    /// What the stick reported with the last result (times, thermals, throttling).
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Loads a graph onto the stick (one graph per stick): the file's exact bytes are sent.
    pub fn allocate_graph(&mut self, graph: &GraphFile) -> Result<(), DeviceError> {
        if self.graph.is_some() {
            return Err(DeviceError::Usage(format!(
                "{}: a graph is already allocated; the stick holds one",
                self.name()
            )));
        }
        let (stages, input_len, output_len) = shape_of(graph.blob());
        self.wait_status(Status::Waiting, Duration::from_secs(10))?;
        self.link.set(Buffer::BlobFile, false, &graph.to_bytes())?;
        self.link.set(Buffer::AuxBuffer, false, &vec![0u8; aux::len(stages)])?;
        self.graph = Some(GraphState {
            stages,
            input_len,
            output_len,
            options: GraphOptions::default(),
            config_sent: None,
            queued: VecDeque::new(),
            next_slot: Buffer::Input1,
        });
        if let Some(t) = &self.tracer {
            t.event(
                &self.name(),
                "graph_allocated",
                json!({ "stages": stages, "input": input_len, "output": output_len }),
            );
        }
        Ok(())
    }

    /// Forgets the graph on the host side (as NCSDK does; no USB traffic).
    pub fn deallocate_graph(&mut self) {
        self.graph = None;
    }

    /// True when a graph is allocated.
    pub fn has_graph(&self) -> bool {
        self.graph.is_some()
    }

    /// Elements of the network input and output of the allocated graph.
    pub fn graph_io(&self) -> Option<(usize, usize)> {
        self.graph.as_ref().map(|g| (g.input_len, g.output_len))
    }

    /// Current graph options.
    pub fn graph_options(&self) -> Option<GraphOptions> {
        self.graph.as_ref().map(|g| g.options)
    }

    /// Changes graph options (sent with the next input).
    pub fn set_graph_options(&mut self, options: GraphOptions) -> Result<(), DeviceError> {
        self.graph_mut()?.options = options;
        Ok(())
    }

    /// Inferences queued and not yet collected.
    pub fn in_flight(&self) -> usize {
        self.graph.as_ref().map_or(0, |g| g.queued.len())
    }

    /// Queues one inference; `user` comes back with its result. See [`Device::load_tensor_bytes`].
    pub fn load_tensor(&mut self, input: &[f16], user: u64) -> Result<(), DeviceError> {
        self.load_tensor_bytes(&crate::fp16::halves_to_bytes(input), user)
    }

    /// Queues one inference on raw fp16 bytes; `user` comes back with its result. As Intel's
    /// library (`mvnc_api.c` 870–873), any length of at least 2 bytes is sent as given — a
    /// length other than the graph's is logged as a warning, not refused: the stick computes
    /// on its input buffer as the bytes left it (`docs/usb_protocol.md` §9).
    ///
    /// Changed options ([`Device::set_graph_options`], [`Device::set_thermal_options`]) are
    /// sent as `config` before this input when nothing is in flight, and otherwise wait for
    /// the pipeline to drain: the firmware has only ever received `config` before an input of
    /// an idle graph (Intel sends it once, before the first, `mvnc_api.c` 883–889).
    pub fn load_tensor_bytes(&mut self, input: &[u8], user: u64) -> Result<(), DeviceError> {
        let config = self.config();
        let name = self.name();
        let g = self.graph_mut()?;
        if input.len() < 2 {
            return Err(DeviceError::Usage(format!(
                "input of {} bytes: an input holds at least one fp16 value (2 bytes)",
                input.len()
            )));
        }
        if input.len() != 2 * g.input_len {
            log::warn!(
                "{name}: input of {} bytes; the graph takes {} ({} fp16 values): sent as given, as NCSDK does",
                input.len(),
                2 * g.input_len,
                g.input_len
            );
        }
        if g.queued.len() >= 2 {
            // A blocking caller would wait for a get_result that only it can make.
            return Err(DeviceError::Busy);
        }
        let hostready = g.queued.is_empty();
        let send_config = hostready && g.config_sent != Some(config);
        let slot = g.next_slot;
        if send_config {
            self.link.set(Buffer::Config, false, &config.encode())?;
            self.graph_mut()?.config_sent = Some(config);
        }
        self.link.set(slot, hostready, input)?;
        let g = self.graph_mut()?;
        g.queued.push_back(user);
        g.next_slot = if slot == Buffer::Input1 { Buffer::Input2 } else { Buffer::Input1 };
        Ok(())
    }

    /// Collects the oldest inference: its fp16 output and the `user` value it was queued with.
    pub fn get_result(&mut self) -> Result<(Vec<f16>, u64), DeviceError> {
        let g = self.graph_mut()?;
        if g.queued.is_empty() {
            return Err(DeviceError::NoData);
        }
        let (output_len, stages, release) = (g.output_len, g.stages, g.queued.len() == 2);
        let mut output = vec![0u8; output_len * 2];
        self.fetch_output(&mut output)?;
        // The stick hands the inference over with its auxBuffer: from here on it is consumed,
        // whether or not that read completes.
        let user = self.graph_mut()?.queued.pop_front().expect("checked non-empty");
        let mut aux_bytes = vec![0u8; aux::len(stages)];
        self.link.get(Buffer::AuxBuffer, release, &mut aux_bytes)?;
        self.telemetry = parse_aux(&aux_bytes, stages);
        if !self.telemetry.debug.is_empty() {
            return Err(DeviceError::Firmware { stick: self.name(), message: self.telemetry.debug.clone() });
        }
        let values = crate::fp16::halves_from_bytes(&output);
        Ok((values, user))
    }

    /// Reads the oldest inference's output, asking again every 1 ms while the stick refuses
    /// (it withholds the permit until the result is computed) for up to `result_wait`, as
    /// Intel's `mvncGetResult` does. The queue is untouched on failure, so a later call asks
    /// for the same inference. A stick that has gone is not retried.
    fn fetch_output(&mut self, output: &mut [u8]) -> Result<(), DeviceError> {
        let started = Instant::now();
        let deadline = started + self.result_wait;
        let mut tries = 0u32;
        // One line per burst of refusals, not per 1 ms retry.
        let name = self.name();
        let burst = |tries: u32, outcome: &str| {
            let ms = started.elapsed().as_secs_f64() * 1e3;
            format!("{name}: output {outcome} after {} refusal(s), {ms:.1} ms of retries", tries - 1)
        };
        loop {
            tries += 1;
            match self.link.get(Buffer::Output, false, output) {
                Ok(()) => {
                    if tries > 1 {
                        log::debug!("{}", burst(tries, "read"));
                    }
                    return Ok(());
                }
                Err(e) if e.is_disconnect() => {
                    log::info!("{}: {e}", burst(tries, "abandoned, stick gone,"));
                    return Err(e);
                }
                Err(e) if Instant::now() >= deadline => {
                    log::warn!("{}: {e}", burst(tries, "given up"));
                    return Err(DeviceError::state(
                        &name,
                        format!("no result after {:?} ({tries} tries); last: {e}", self.result_wait),
                    ));
                }
                Err(e) => {
                    if tries == 1 {
                        log::trace!("{name}: output refused ({e}); asking again every {RESULT_RETRY_PAUSE:?}");
                    }
                    sleep(RESULT_RETRY_PAUSE);
                }
            }
        }
    }

    /// The firmware's optimisation list (cached after the first query). The query is sent as
    /// Intel sends it — `config` with the query flag and every setting zero (`mvnc_api.c`
    /// 738–741) — and the real settings are re-sent before the next input of an idle graph
    /// (Intel leaves them zeroed — a defect avoided here).
    pub fn optimisation_list(&mut self) -> Result<Vec<String>, DeviceError> {
        if let Some(list) = &self.optimisation_list {
            return Ok(list.clone());
        }
        self.link.set(Buffer::Config, true, &Config::optimisation_query().encode())?;
        self.wait_status_any(&[Status::Waiting, Status::Finished], Duration::from_secs(15))?;
        let mut raw = vec![0u8; OPTIMIZATION_LIST_LEN];
        self.link.get(Buffer::OptimizationList, false, &mut raw)?;
        if let Some(g) = self.graph.as_mut() {
            g.config_sent = None;
        }
        let list: Vec<String> = raw
            .chunks(50)
            .map(|entry| {
                let end = entry.iter().position(|&b| b == b'~' || b == 0).unwrap_or(entry.len());
                String::from_utf8_lossy(&entry[..end]).into_owned()
            })
            .filter(|s| !s.is_empty())
            .collect();
        self.optimisation_list = Some(list.clone());
        Ok(list)
    }

    fn config(&self) -> Config {
        let t = self.thermal;
        let g = self.graph.as_ref().map(|g| g.options).unwrap_or_default();
        Config {
            query: 0,
            iterations: g.iterations,
            temp_lim_upper: t.temp_lim_higher as i32,
            temp_lim_lower: t.temp_lim_lower as i32,
            backoff_normal: t.backoff_normal,
            backoff_high: t.backoff_high,
            backoff_critical: t.backoff_critical,
            temperature_debug: t.temperature_debug,
            network_throttle: g.network_throttle,
        }
    }

    fn graph_mut(&mut self) -> Result<&mut GraphState, DeviceError> {
        let name = self.id.name();
        self.graph.as_mut().ok_or_else(|| DeviceError::Usage(format!("{name}: no graph is allocated")))
    }

    fn wait_status(&mut self, want: Status, within: Duration) -> Result<(), DeviceError> {
        self.wait_status_any(&[want], within)
    }

    fn wait_status_any(&mut self, want: &[Status], within: Duration) -> Result<(), DeviceError> {
        let deadline = Instant::now() + within;
        loop {
            // Pauses 10 ms after every poll, the last included, as Intel's loops do.
            let status = self.link.poll_status()?;
            if want.contains(&status) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DeviceError::state(
                    &self.name(),
                    format!("status {status:?} after {within:?}; expected {want:?}"),
                ));
            }
        }
    }
}

impl Drop for Device {
    /// Closes the stick (reset, then settle) unless [`Device::close`] already did: a dropped
    /// `Device` never leaves its stick booted for the next open to recover.
    fn drop(&mut self) {
        if let Err(e) = self.shut_down() {
            log::debug!("closing {}: {e}", self.name());
        }
    }
}

/// (stages, input elements, output elements) as the host computes them.
fn shape_of(parsed: &Blob) -> (usize, usize, usize) {
    let input = parsed.network_input().map_or(0, |t| t.dims.product() as usize);
    let output = parsed.layout().map_or(0, |l| l.output_elements as usize);
    (parsed.stages.len(), input, output)
}
