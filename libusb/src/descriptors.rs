//! The USB descriptors a software stick shows: a device descriptor, and one configuration with
//! one vendor-specific interface holding bulk endpoints 0x01 OUT and 0x81 IN — the endpoints
//! Intel's host hard-codes for the booted stick (`usb_link_vsc.c` 39–40) and the first bulk OUT
//! endpoint its ROM boot looks for (`usb_boot.c` 204–219). Fields no host reads (class codes,
//! string indices, power) are plausible values, not copied from a real stick.

use libusb1_sys as ffi;
use libusb1_sys::constants::{
    LIBUSB_DT_CONFIG, LIBUSB_DT_DEVICE, LIBUSB_DT_ENDPOINT, LIBUSB_DT_INTERFACE, LIBUSB_TRANSFER_TYPE_BULK,
};
use ncs::device::emulator::Enumeration;
use ncs::device::wire::{ENDPOINT_IN, ENDPOINT_OUT};

/// wMaxPacketSize of a SuperSpeed bulk endpoint; anything else is high speed.
const SUPERSPEED_PACKET: usize = 1024;

/// The device descriptor of an enumeration.
pub fn device_descriptor(found: &Enumeration) -> ffi::libusb_device_descriptor {
    let superspeed = found.packet >= SUPERSPEED_PACKET;
    ffi::libusb_device_descriptor {
        bLength: 18,
        bDescriptorType: LIBUSB_DT_DEVICE,
        bcdUSB: if superspeed { 0x0300 } else { 0x0200 },
        bDeviceClass: 0,
        bDeviceSubClass: 0,
        bDeviceProtocol: 0,
        // Endpoint 0: 64 bytes at high speed; SuperSpeed gives the exponent (2^9 = 512).
        bMaxPacketSize0: if superspeed { 9 } else { 64 },
        idVendor: found.id.vendor,
        idProduct: found.id.product,
        bcdDevice: 0x0001,
        iManufacturer: 1,
        iProduct: 2,
        iSerialNumber: 3,
        bNumConfigurations: 1,
    }
}

/// A configuration descriptor with everything it points to, in one heap allocation that
/// `libusb_free_config_descriptor` drops.
pub struct ConfigTree {
    config: ffi::libusb_config_descriptor,
    interface: ffi::libusb_interface,
    altsetting: ffi::libusb_interface_descriptor,
    endpoints: [ffi::libusb_endpoint_descriptor; 2],
}

// SAFETY: the raw pointers inside a ConfigTree point only into the same boxed allocation, which
// never moves and is only read (by the C caller) until it is dropped under the registry's lock.
unsafe impl Send for ConfigTree {}

impl ConfigTree {
    /// The address handed to C.
    pub fn as_ptr(&self) -> *const ffi::libusb_config_descriptor {
        &self.config
    }
}

fn endpoint(address: u8, packet: usize) -> ffi::libusb_endpoint_descriptor {
    ffi::libusb_endpoint_descriptor {
        bLength: 7,
        bDescriptorType: LIBUSB_DT_ENDPOINT,
        bEndpointAddress: address,
        bmAttributes: LIBUSB_TRANSFER_TYPE_BULK,
        wMaxPacketSize: u16::try_from(packet).unwrap_or(u16::MAX),
        bInterval: 0,
        bRefresh: 0,
        bSynchAddress: 0,
        extra: std::ptr::null(),
        extra_length: 0,
    }
}

/// Configuration 1 of an enumeration, its internal pointers set.
pub fn config_tree(found: &Enumeration) -> Box<ConfigTree> {
    let mut tree = Box::new(ConfigTree {
        config: ffi::libusb_config_descriptor {
            bLength: 9,
            bDescriptorType: LIBUSB_DT_CONFIG,
            wTotalLength: 9 + 9 + 2 * 7,
            bNumInterfaces: 1,
            bConfigurationValue: 1,
            iConfiguration: 0,
            bmAttributes: 0x80, // bus powered
            bMaxPower: 250,     // 500 mA in 2 mA units
            interface: std::ptr::null(),
            extra: std::ptr::null(),
            extra_length: 0,
        },
        interface: ffi::libusb_interface { altsetting: std::ptr::null(), num_altsetting: 1 },
        altsetting: ffi::libusb_interface_descriptor {
            bLength: 9,
            bDescriptorType: LIBUSB_DT_INTERFACE,
            bInterfaceNumber: 0,
            bAlternateSetting: 0,
            bNumEndpoints: 2,
            bInterfaceClass: 0xff, // vendor specific
            bInterfaceSubClass: 0,
            bInterfaceProtocol: 0,
            iInterface: 0,
            endpoint: std::ptr::null(),
            extra: std::ptr::null(),
            extra_length: 0,
        },
        endpoints: [endpoint(ENDPOINT_OUT, found.packet), endpoint(ENDPOINT_IN, found.packet)],
    });
    tree.altsetting.endpoint = tree.endpoints.as_ptr();
    tree.interface.altsetting = &tree.altsetting;
    tree.config.interface = &tree.interface;
    tree
}
