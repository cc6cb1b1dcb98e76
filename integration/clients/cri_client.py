#!/usr/bin/python3
"""A tiny CRI client for the containerd test (no crictl in Debian bookworm): runs a pod
(host network: no CNI) with the runtime handler given, a container in it, an ExecSync, and
tears it all down, printing what it saw as JSON. Usage: cri_client.py SOCKET HANDLER IMAGE
CGROUP_PARENT LOG_DIR STATE_ROOT"""
import json, os, subprocess, sys, tempfile

sock, handler, image, cgroup_parent, log_dir, state_root = sys.argv[1:7]
here = os.path.dirname(os.path.abspath(__file__))
gen = tempfile.mkdtemp(prefix="hull-cri-")
subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", here, "--python_out", gen, "--grpc_python_out", gen, "cri.proto"], check=True)
sys.path.insert(0, gen)
import grpc, cri_pb2 as pb, cri_pb2_grpc as rpc  # noqa: E402

rt = rpc.RuntimeServiceStub(grpc.insecure_channel("unix://" + sock))
NODE = 2
out = {}
sandbox = pb.PodSandboxConfig(
    metadata=pb.PodSandboxMetadata(name="hull-pod", uid="hull-pod-uid", namespace="default"),
    log_directory=log_dir,
    linux=pb.LinuxPodSandboxConfig(cgroup_parent=cgroup_parent,
        security_context=pb.LinuxSandboxSecurityContext(namespace_options=pb.NamespaceOption(network=NODE))),
)
pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=sandbox, runtime_handler=handler), timeout=60).pod_sandbox_id
try:
    config = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="c"), image=pb.ImageSpec(image=image),
        command=["sh", "-c", "echo started-by-cri; sleep 300"], envs=[pb.KeyValue(key="HULL_CRI", value="yes")], log_path="c.log")
    cid = rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=pod, config=config, sandbox_config=sandbox), timeout=60).container_id
    rt.StartContainer(pb.ContainerIdRequest(container_id=cid), timeout=60)
    # The runtime's own record of the container (hull's state.json has "initStartTime").
    state = json.load(open(os.path.join(state_root, "k8s.io", cid, "state.json")))
    out["runtime_state_keys"] = sorted(state)
    r = rt.ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=["sh", "-c", "echo $HULL_CRI; cat /proc/1/cmdline | tr '\\0' ' '"], timeout=30), timeout=60)
    out["exec"] = {"stdout": r.stdout.decode(), "exit_code": r.exit_code}
    out["pod"], out["container"] = pod, cid
    rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1), timeout=60)
    rt.RemoveContainer(pb.ContainerIdRequest(container_id=cid), timeout=60)
finally:
    rt.StopPodSandbox(pb.PodSandboxIdRequest(pod_sandbox_id=pod), timeout=60)
    rt.RemovePodSandbox(pb.PodSandboxIdRequest(pod_sandbox_id=pod), timeout=60)
print(json.dumps(out))
