//! containerd (placeholder until the containerd tests land).
