//! The create/exec process machinery: the parent (`create`), the init child (`init`), the
//! channel between them and the exec fifo that `start` opens.

pub mod channel;
pub mod console;
pub mod create;
pub mod exec;
mod exec_path;
pub mod fifo;
mod init;
pub mod notify;
pub mod restore;
pub mod timeline;
pub mod trampoline;
pub mod tty_proxy;
pub mod wait;
