//! The native NCS1 driver: boot a stick, allocate a graph, pipeline inferences.
//!
//! Threading model: a [`Device`] is `Send` and owned by one thread at a time (`&mut self`
//! everywhere), so there is no internal locking and no lock to leak on a failed write. Drive
//! several sticks from several threads, one `Device` each. A device holds at most one graph
//! (the firmware's limit) and at most two inferences in flight; exceeding either is an error,
//! never a hang.

use std::collections::VecDeque;
use std::time::Duration;

use half::f16;
use serde_json::json;

use crate::blob::{Blob, GraphFile};

use super::boot::{self, Firmware};
use super::error::DeviceError;
use super::link::Link;
use super::options::{GraphOptions, OpenOptions, ThermalOptions, RESET_WAIT};
use super::telemetry::{parse_aux, Telemetry};
use super::trace::Tracer;
use super::transport::{Bus, StickState, UsbId};
use super::wire::{aux, Buffer, Config, Status, OPTIMIZATION_LIST_LEN};

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

/// An opened, booted stick.
#[derive(Debug)]
pub struct Device {
    link: Link,
    id: UsbId,
    thermal: ThermalOptions,
    graph: Option<GraphState>,
    telemetry: Telemetry,
    optimisation_list: Option<Vec<String>>,
    tracer: Option<Tracer>,
}

impl Device {
    /// Opens the stick called `name` (see [`UsbId::name`]), booting it with `firmware`. A stick
    /// left booted by a crashed process is reset and booted afresh.
    pub fn open(bus: &dyn Bus, name: &str, firmware: &Firmware, options: &OpenOptions) -> Result<Device, DeviceError> {
        let sticks = bus.sticks().map_err(|e| DeviceError::usb(name, "enumerate", e))?;
        let id = sticks
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| DeviceError::state(name, format!("no stick of that name on {}", bus.describe())))?;
        let tracer = options.tracer.as_ref();
        if id.state() == Some(StickState::Booted) {
            recover(bus, &id, options)?;
        }
        boot::send_firmware(bus, &id, firmware, tracer)?;
        let link = boot::wait_for(bus, &id, StickState::Booted, options.boot_wait, tracer, options.link_timeout)?
            .expect("a booted stick comes with a link");
        Ok(Device {
            link,
            id,
            thermal: ThermalOptions::default(),
            graph: None,
            telemetry: Telemetry::default(),
            optimisation_list: None,
            tracer: options.tracer.clone(),
        })
    }

    /// The stick's name.
    pub fn name(&self) -> String {
        self.id.name()
    }

    /// Sends the reset request: the stick returns to its ROM and must be booted again.
    pub fn close(mut self) -> Result<(), DeviceError> {
        self.link.reset()
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

    /// Queues one inference; `user` comes back with its result.
    pub fn load_tensor(&mut self, input: &[f16], user: u64) -> Result<(), DeviceError> {
        let config = self.config();
        let g = self.graph_mut()?;
        if input.len() != g.input_len {
            return Err(DeviceError::Usage(format!(
                "input has {} values; the graph takes {}",
                input.len(),
                g.input_len
            )));
        }
        if g.queued.len() >= 2 {
            // A blocking caller would wait for a get_result that only it can make.
            return Err(DeviceError::Busy);
        }
        let send_config = g.config_sent != Some(config);
        let hostready = g.queued.is_empty();
        let slot = g.next_slot;
        if send_config {
            self.link.set(Buffer::Config, false, &config.encode())?;
            self.graph_mut()?.config_sent = Some(config);
        }
        let bytes = crate::fp16::halves_to_bytes(input);
        self.link.set(slot, hostready, &bytes)?;
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
        let mut aux_bytes = vec![0u8; aux::len(stages)];
        let fetched = self
            .link
            .get(Buffer::Output, false, &mut output)
            .and_then(|()| self.link.get(Buffer::AuxBuffer, release, &mut aux_bytes));
        // Either way this inference is consumed: the stick will not offer it again.
        let user = self.graph_mut()?.queued.pop_front().expect("checked non-empty");
        fetched?;
        self.telemetry = parse_aux(&aux_bytes, stages);
        if !self.telemetry.debug.is_empty() {
            return Err(DeviceError::Firmware { stick: self.name(), message: self.telemetry.debug.clone() });
        }
        let values = crate::fp16::halves_from_bytes(&output);
        Ok((values, user))
    }

    /// The firmware's optimisation list (cached after the first query). Restores the real
    /// configuration afterwards (NCSDK zeroes it — a defect avoided here).
    pub fn optimisation_list(&mut self) -> Result<Vec<String>, DeviceError> {
        if let Some(list) = &self.optimisation_list {
            return Ok(list.clone());
        }
        let query = Config { query: 1, ..self.config() };
        self.link.set(Buffer::Config, true, &query.encode())?;
        self.wait_status_any(&[Status::Waiting, Status::Finished], Duration::from_secs(15))?;
        let mut raw = vec![0u8; OPTIMIZATION_LIST_LEN];
        self.link.get(Buffer::OptimizationList, false, &mut raw)?;
        let config = self.config();
        self.link.set(Buffer::Config, false, &config.encode())?;
        if let Some(g) = self.graph.as_mut() {
            g.config_sent = Some(config);
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
        let deadline = std::time::Instant::now() + within;
        loop {
            let status = self.link.status()?;
            if want.contains(&status) {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(DeviceError::state(
                    &self.name(),
                    format!("status {status:?} after {within:?}; expected {want:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A stick found booted (a crashed process left it so): reset it back to the ROM.
fn recover(bus: &dyn Bus, id: &UsbId, options: &OpenOptions) -> Result<(), DeviceError> {
    let stick = id.name();
    if let Some(t) = &options.tracer {
        t.event(&stick, "recover_booted_stick", json!({}));
    }
    let transport = bus.open(id).map_err(|e| DeviceError::usb(&stick, "open booted stick to reset it", e))?;
    let mut link = Link::new(transport, &stick, options.link_timeout, options.tracer.clone());
    if let Err(e) = link.reset() {
        // The firmware is not listening (e.g. stuck mid-transfer): reset the port instead.
        log::info!("{e}; resetting the USB port");
        link.reset_port()?;
    }
    drop(link);
    boot::wait_for(bus, id, StickState::Rom, RESET_WAIT, options.tracer.as_ref(), options.link_timeout)?;
    Ok(())
}

/// (stages, input elements, output elements) as the host computes them.
fn shape_of(parsed: &Blob) -> (usize, usize, usize) {
    let input = parsed.network_input().map_or(0, |t| t.dims.product() as usize);
    let output = parsed.layout().map_or(0, |l| l.output_elements as usize);
    (parsed.stages.len(), input, output)
}
