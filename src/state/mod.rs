//! The container state store: `ROOT/ID/` (0700, locked), its `state.json`, the pid file, and the
//! status derived from them.

pub mod id;
pub mod pidfile;
mod record;
mod status;
mod store;
pub mod time;

pub use record::{CgroupRecord, RdtRecord, Record, STATE_VERSION};
pub use status::{open_init, ContainerStatus, Liveness};
pub use store::{list_ids, load_record, CreateNote, StateDir};
