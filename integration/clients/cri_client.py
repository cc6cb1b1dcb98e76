#!/usr/bin/python3
"""A tiny CRI client for the containerd test (no crictl in Debian bookworm): runs a pod
(host network: no CNI) with the runtime handler given and containers in it the way the kubelet
does, and tears it all down, printing what it saw as JSON. Usage: cri_client.py SOCKET HANDLER
IMAGE CGROUP_PARENT LOG_DIR STATE_ROOT WORK_DIR (WORK_DIR: a host dir to bind, a seccomp profile)"""
import atexit, json, os, shutil, subprocess, sys, tempfile, time

sock, handler, image, cgroup_parent, log_dir, state_root, work = sys.argv[1:8]
here = os.path.dirname(os.path.abspath(__file__))
gen = tempfile.mkdtemp(prefix="hull-cri-")
atexit.register(shutil.rmtree, gen, True)  # the generated stubs go with the client
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


def create(name, command, **kw):
    config = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=image),
        command=command, log_path=name + ".log", **kw)
    return rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=pod, config=config, sandbox_config=sandbox), timeout=60).container_id


def start(cid):
    rt.StartContainer(pb.ContainerIdRequest(container_id=cid), timeout=60)


def sh(cid, script):
    r = rt.ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=["sh", "-c", script], timeout=30), timeout=60)
    return {"stdout": r.stdout.decode(), "stderr": r.stderr.decode(), "exit_code": r.exit_code}


def remove(cid):
    rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1), timeout=60)
    rt.RemoveContainer(pb.ContainerIdRequest(container_id=cid), timeout=60)


def error_of(call):
    try:
        call()
        return ""
    except grpc.RpcError as e:
        return e.details()


pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=sandbox, runtime_handler=handler), timeout=60).pod_sandbox_id
try:
    # A plain container: its output in the log, an ExecSync, the runtime's record of it.
    cid = create("c", ["sh", "-c", "echo started-by-cri; sleep 300"], envs=[pb.KeyValue(key="HULL_CRI", value="yes")])
    start(cid)
    # The runtime's own record of the container (hull's state.json has "initStartTime").
    state = json.load(open(os.path.join(state_root, "k8s.io", cid, "state.json")))
    out["runtime_state_keys"] = sorted(state)
    out["exec"] = sh(cid, "echo $HULL_CRI; cat /proc/1/cmdline | tr '\\0' ' '")
    out["pod"], out["container"] = pod, cid
    # Stats (the shim reads the cgroup hull made) and an update of its resources.
    stats = rt.ContainerStats(pb.ContainerStatsRequest(container_id=cid), timeout=60).stats
    out["stats"] = {"working_set_bytes": stats.memory.working_set_bytes.value, "cpu_ns": stats.cpu.usage_core_nano_seconds.value}
    rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(container_id=cid,
        linux=pb.LinuxContainerResources(memory_limit_in_bytes=48 << 20, cpu_period=100000, cpu_quota=20000)), timeout=60)
    out["updated"] = sh(cid, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us")["stdout"]
    # ExecSync of a program that is not there: hull's message comes back.
    out["exec_missing"] = error_of(lambda: rt.ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=["/no/such/program"], timeout=30), timeout=60))
    remove(cid)

    # What a Pod's securityContext and resources become, seen from inside.
    with open(os.path.join(work, "seccomp.json"), "w") as f:
        json.dump({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}, f)
    sec = pb.LinuxContainerSecurityContext(
        capabilities=pb.Capability(drop_capabilities=["ALL"], add_capabilities=["NET_RAW"]),
        run_as_user=pb.Int64Value(value=1000), run_as_group=pb.Int64Value(value=1000), readonly_rootfs=True,
        no_new_privs=True, seccomp_profile_path="localhost/" + os.path.join(work, "seccomp.json"))
    res = pb.LinuxContainerResources(memory_limit_in_bytes=64 << 20, cpu_period=100000, cpu_quota=50000)
    cid = create("sec", ["sleep", "300"], working_dir="/tmp", linux=pb.LinuxContainerConfig(security_context=sec, resources=res),
        mounts=[pb.Mount(container_path="/data", host_path=os.path.join(work, "vol"), readonly=True)])
    start(cid)
    out["secured"] = sh(cid, "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; id -u; id -g; pwd; "
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us; cat /data/f; "
        "touch /x /data/g 2>&1; mkdir /tmp/d 2>&1; true")
    remove(cid)

    # StopContainer: SIGTERM first; a process that handles it exits with its own code.
    cid = create("term", ["sh", "-c", "trap 'echo got-term; exit 7' TERM; while :; do sleep 0.1; done"])
    start(cid)
    time.sleep(0.3)
    t0 = time.time()
    rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=30), timeout=60)
    status = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid), timeout=60).status
    out["term"] = {"seconds": time.time() - t0, "exit_code": status.exit_code, "log": open(os.path.join(log_dir, "term.log")).read()}
    rt.RemoveContainer(pb.ContainerIdRequest(container_id=cid), timeout=60)

    # A memory limit the kubelet would pass but hull refuses: StartContainer fails with hull's words.
    cid = create("badmem", ["true"], linux=pb.LinuxContainerConfig(resources=pb.LinuxContainerResources(memory_limit_in_bytes=100)))
    out["bad_memory"] = error_of(lambda: start(cid))
    rt.RemoveContainer(pb.ContainerIdRequest(container_id=cid), timeout=60)
finally:
    rt.StopPodSandbox(pb.PodSandboxIdRequest(pod_sandbox_id=pod), timeout=60)
    rt.RemovePodSandbox(pb.PodSandboxIdRequest(pod_sandbox_id=pod), timeout=60)
print(json.dumps(out))
