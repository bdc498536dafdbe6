"""A small OpenCL host over ctypes: just what bench/gpu/check.py needs (no build step, no pyopencl).

Two ways in, tried in order by :func:`discover`:

1. ``libOpenCL.so.1``, the ICD loader, calling the exported ``cl*`` entry points.
2. A vendor ICD library opened directly (``libnvidia-opencl.so.1``, or the libraries named in
   ``/etc/OpenCL/vendors/*.icd``, or one given with ``--opencl-lib``). A GPU container often has
   the NVIDIA driver's OpenCL library mounted but neither the loader nor an ``.icd`` file; such a
   library still answers ``clIcdGetPlatformIDsKHR``, and every object it returns starts with a
   pointer to its dispatch table (the cl_khr_icd extension), whose entries sit at the indices of
   the Khronos ``cl_icd_dispatch`` struct listed in ``_SIGS``.
"""

import ctypes
import ctypes.util
import glob
import os

# Constants from the OpenCL 1.2 headers (cl.h, cl_ext.h).
CL_SUCCESS = 0
CL_DEVICE_TYPE_CPU = 1 << 1
CL_DEVICE_TYPE_GPU = 1 << 2
CL_DEVICE_TYPE_ACCELERATOR = 1 << 3
CL_DEVICE_TYPE_ALL = 0xFFFFFFFF
CL_PLATFORM_VERSION = 0x0901
CL_PLATFORM_NAME = 0x0902
CL_PLATFORM_VENDOR = 0x0903
CL_DEVICE_TYPE = 0x1000
CL_DEVICE_MAX_COMPUTE_UNITS = 0x1002
CL_DEVICE_MAX_WORK_GROUP_SIZE = 0x1004
CL_DEVICE_MAX_MEM_ALLOC_SIZE = 0x1010
CL_DEVICE_GLOBAL_MEM_SIZE = 0x101F
CL_DEVICE_NAME = 0x102B
CL_DEVICE_VENDOR = 0x102C
CL_DRIVER_VERSION = 0x102D
CL_DEVICE_VERSION = 0x102F
CL_CONTEXT_PLATFORM = 0x1084
CL_QUEUE_PROFILING_ENABLE = 1 << 1
CL_MEM_READ_WRITE = 1 << 0
CL_PROGRAM_BUILD_LOG = 0x1183
CL_PROFILING_COMMAND_START = 0x1282
CL_PROFILING_COMMAND_END = 0x1283

ERRORS = {
    -1: "CL_DEVICE_NOT_FOUND", -2: "CL_DEVICE_NOT_AVAILABLE", -3: "CL_COMPILER_NOT_AVAILABLE",
    -4: "CL_MEM_OBJECT_ALLOCATION_FAILURE", -5: "CL_OUT_OF_RESOURCES",
    -6: "CL_OUT_OF_HOST_MEMORY", -7: "CL_PROFILING_INFO_NOT_AVAILABLE",
    -11: "CL_BUILD_PROGRAM_FAILURE", -30: "CL_INVALID_VALUE", -32: "CL_INVALID_PLATFORM",
    -33: "CL_INVALID_DEVICE", -34: "CL_INVALID_CONTEXT", -36: "CL_INVALID_COMMAND_QUEUE",
    -38: "CL_INVALID_MEM_OBJECT", -43: "CL_INVALID_BUILD_OPTIONS", -44: "CL_INVALID_PROGRAM",
    -45: "CL_INVALID_PROGRAM_EXECUTABLE", -46: "CL_INVALID_KERNEL_NAME",
    -48: "CL_INVALID_KERNEL", -49: "CL_INVALID_ARG_INDEX", -50: "CL_INVALID_ARG_VALUE",
    -51: "CL_INVALID_ARG_SIZE", -52: "CL_INVALID_KERNEL_ARGS",
    -53: "CL_INVALID_WORK_DIMENSION", -54: "CL_INVALID_WORK_GROUP_SIZE",
    -55: "CL_INVALID_WORK_ITEM_SIZE", -56: "CL_INVALID_GLOBAL_OFFSET",
    -58: "CL_INVALID_EVENT", -61: "CL_INVALID_BUFFER_SIZE", -63: "CL_INVALID_GLOBAL_WORK_SIZE",
    -1001: "CL_PLATFORM_NOT_FOUND_KHR",
}


class ClError(RuntimeError):
    def __init__(self, what, status, log=None):
        super().__init__("%s failed: %s (%d)%s" % (what, ERRORS.get(status, "error"), status,
                                                   "" if log is None else "; build log:\n" + log))
        self.status = status
        self.log = log


P = ctypes.c_void_p
U32 = ctypes.c_uint32
U64 = ctypes.c_uint64
I32 = ctypes.c_int32
SZ = ctypes.c_size_t
PSZ = ctypes.POINTER(ctypes.c_size_t)
PI32 = ctypes.POINTER(ctypes.c_int32)
PU32 = ctypes.POINTER(ctypes.c_uint32)

# name: (index in cl_icd_dispatch, restype, argtypes)
_SIGS = {
    "clGetPlatformIDs": (0, I32, [U32, P, PU32]),
    "clGetPlatformInfo": (1, I32, [P, U32, SZ, P, PSZ]),
    "clGetDeviceIDs": (2, I32, [P, U64, U32, P, PU32]),
    "clGetDeviceInfo": (3, I32, [P, U32, SZ, P, PSZ]),
    "clCreateContext": (4, P, [P, U32, P, P, P, PI32]),
    "clReleaseContext": (7, I32, [P]),
    "clCreateCommandQueue": (9, P, [P, P, U64, PI32]),
    "clReleaseCommandQueue": (11, I32, [P]),
    "clCreateBuffer": (14, P, [P, U64, SZ, P, PI32]),
    "clReleaseMemObject": (18, I32, [P]),
    "clCreateProgramWithSource": (26, P, [P, U32, P, PSZ, PI32]),
    "clReleaseProgram": (29, I32, [P]),
    "clBuildProgram": (30, I32, [P, U32, P, ctypes.c_char_p, P, P]),
    "clGetProgramBuildInfo": (33, I32, [P, P, U32, SZ, P, PSZ]),
    "clCreateKernel": (34, P, [P, ctypes.c_char_p, PI32]),
    "clReleaseKernel": (37, I32, [P]),
    "clSetKernelArg": (38, I32, [P, U32, SZ, P]),
    "clWaitForEvents": (41, I32, [U32, P]),
    "clReleaseEvent": (44, I32, [P]),
    "clGetEventProfilingInfo": (45, I32, [P, U32, SZ, P, PSZ]),
    "clFinish": (47, I32, [P]),
    "clEnqueueReadBuffer": (48, I32, [P, P, U32, SZ, SZ, P, U32, P, P]),
    "clEnqueueWriteBuffer": (49, I32, [P, P, U32, SZ, SZ, P, U32, P, P]),
    "clEnqueueNDRangeKernel": (59, I32, [P, P, U32, P, P, P, U32, P, P]),
}


class Api:
    """The entry points, bound either to the loader's exports or to a vendor's dispatch table."""

    def __init__(self, how, lib, dispatch=None):
        self.how = how
        for name, (index, res, argtypes) in _SIGS.items():
            f = None
            if dispatch is not None:
                addr = ctypes.cast(dispatch, ctypes.POINTER(ctypes.c_void_p))[index]
                if addr:
                    f = ctypes.CFUNCTYPE(res, *argtypes)(addr)
            if f is None:
                try:
                    f = getattr(lib, name)
                except AttributeError:
                    raise OSError("%s has no %s" % (how, name))
                f.restype = res
                f.argtypes = argtypes
            setattr(self, name, f)


def _info_bytes(fn, obj, param):
    size = SZ(0)
    st = fn(obj, param, 0, None, ctypes.byref(size))
    if st != CL_SUCCESS:
        raise ClError("get info 0x%x" % param, st)
    buf = ctypes.create_string_buffer(size.value)
    st = fn(obj, param, size.value, buf, None)
    if st != CL_SUCCESS:
        raise ClError("get info 0x%x" % param, st)
    return buf.raw


def _info_str(fn, obj, param):
    return _info_bytes(fn, obj, param).split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def _info_int(fn, obj, param):
    return int.from_bytes(_info_bytes(fn, obj, param), "little")


class Device:
    def __init__(self, api, platform, device, index):
        self.api = api
        self.platform = platform
        self.id = device
        self.index = index
        self.platform_name = _info_str(api.clGetPlatformInfo, platform, CL_PLATFORM_NAME)
        self.platform_version = _info_str(api.clGetPlatformInfo, platform, CL_PLATFORM_VERSION)
        f = api.clGetDeviceInfo
        self.name = _info_str(f, device, CL_DEVICE_NAME)
        self.vendor = _info_str(f, device, CL_DEVICE_VENDOR)
        self.driver = _info_str(f, device, CL_DRIVER_VERSION)
        self.version = _info_str(f, device, CL_DEVICE_VERSION)
        bits = _info_int(f, device, CL_DEVICE_TYPE)
        # DeviceType.of: GPU first, then CPU, then ACCELERATOR, else ANY.
        self.type = ("GPU" if bits & CL_DEVICE_TYPE_GPU else "CPU" if bits & CL_DEVICE_TYPE_CPU
                     else "ACCELERATOR" if bits & CL_DEVICE_TYPE_ACCELERATOR else "ANY")
        self.compute_units = _info_int(f, device, CL_DEVICE_MAX_COMPUTE_UNITS)
        self.max_work_group = _info_int(f, device, CL_DEVICE_MAX_WORK_GROUP_SIZE)
        self.max_alloc = _info_int(f, device, CL_DEVICE_MAX_MEM_ALLOC_SIZE)
        self.global_mem = _info_int(f, device, CL_DEVICE_GLOBAL_MEM_SIZE)

    def describe(self):
        return "%s (%s, %s; %s; driver %s; %d compute units; via %s)" % (
            self.name, self.type, self.vendor, self.platform_name, self.driver,
            self.compute_units, self.api.how)


def _devices_of(api, platforms):
    out = []
    for p in platforms:
        n = U32(0)
        st = api.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, None, ctypes.byref(n))
        if st != CL_SUCCESS or n.value == 0:
            continue
        ids = (P * n.value)()
        if api.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n.value, ids, None) != CL_SUCCESS:
            continue
        for i in range(n.value):
            out.append(Device(api, p, ids[i], i))
    return out


def _platforms(fn):
    n = U32(0)
    st = fn(0, None, ctypes.byref(n))
    if st != CL_SUCCESS:
        return st, []
    if n.value == 0:
        return CL_SUCCESS, []
    ids = (P * n.value)()
    st = fn(n.value, ids, None)
    return st, [ids[i] for i in range(n.value)] if st == CL_SUCCESS else []


def _vendor_libraries(extra):
    names = list(extra)
    for icd in sorted(glob.glob("/etc/OpenCL/vendors/*.icd")):
        try:
            with open(icd) as f:
                line = f.read().strip()
            if line:
                names.append(line)
        except OSError:
            pass
    names.append("libnvidia-opencl.so.1")
    seen = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen


def _icd_entry(lib):
    """clIcdGetPlatformIDsKHR of a vendor library: as the ICD loader finds it, through the
    library's clGetExtensionFunctionAddress, or exported under its own name."""
    proto = ctypes.CFUNCTYPE(I32, U32, P, PU32)
    try:
        gefa = lib.clGetExtensionFunctionAddress
        gefa.restype = P
        gefa.argtypes = [ctypes.c_char_p]
        addr = gefa(b"clIcdGetPlatformIDsKHR")
        if addr:
            return proto(addr)
    except AttributeError:
        pass
    try:
        f = lib.clIcdGetPlatformIDsKHR
    except AttributeError:
        return None
    f.restype = I32
    f.argtypes = [U32, P, PU32]
    return f


def discover(extra_libs=(), direct=False):
    """Every OpenCL device reachable, and a line per attempt (for the "no OpenCL" message).
    direct: skip the loader (to test the vendor-library path where a loader works)."""
    notes = []
    devices = []
    try:
        if direct:
            raise OSError("skipped (--icd-direct)")
        lib = ctypes.CDLL("libOpenCL.so.1")
        api = Api("libOpenCL.so.1", lib)
        st, plats = _platforms(api.clGetPlatformIDs)
        if st != CL_SUCCESS:
            notes.append("libOpenCL.so.1: clGetPlatformIDs returned %s (%d): the loader found no "
                         "ICD (no usable /etc/OpenCL/vendors/*.icd)" % (ERRORS.get(st, "?"), st))
        else:
            found = _devices_of(api, plats)
            notes.append("libOpenCL.so.1: %d platform(s), %d device(s)" % (len(plats), len(found)))
            devices += found
    except OSError as e:
        notes.append("libOpenCL.so.1: not loadable (%s)" % e)
    if not any(d.type == "GPU" for d in devices):
        # The loader found no GPU: try the vendor libraries themselves (see the module comment).
        for name in _vendor_libraries(extra_libs):
            try:
                lib = ctypes.CDLL(name)
            except OSError as e:
                notes.append("%s: not loadable (%s)" % (name, e))
                continue
            get = _icd_entry(lib)
            if get is None:
                notes.append("%s: no clIcdGetPlatformIDsKHR (not an ICD)" % name)
                continue
            st, plats = _platforms(get)
            if st != CL_SUCCESS or not plats:
                notes.append("%s: clIcdGetPlatformIDsKHR gave %s, %d platform(s)"
                             % (name, ERRORS.get(st, st), len(plats)))
                continue
            dispatch = ctypes.cast(plats[0], ctypes.POINTER(ctypes.c_void_p))[0]
            try:
                api = Api(name + " (direct ICD dispatch)", lib, dispatch)
            except OSError as e:
                notes.append("%s: %s" % (name, e))
                continue
            found = _devices_of(api, plats)
            notes.append("%s direct: %d platform(s), %d device(s)" % (name, len(plats), len(found)))
            # The same platform may also have come through the loader: keep one of each name.
            known = {(d.platform_name, d.name) for d in devices}
            devices += [d for d in found if (d.platform_name, d.name) not in known]
    return devices, notes


class Context:
    """One device's context and profiling queue; programs, kernels and buffers made here."""

    def __init__(self, device):
        self.device = device
        api = self.api = device.api
        err = I32(0)
        props = (ctypes.c_ssize_t * 3)(CL_CONTEXT_PLATFORM, device.platform, 0)
        devs = (P * 1)(device.id)
        self.ctx = api.clCreateContext(props, 1, devs, None, None, ctypes.byref(err))
        self._check("clCreateContext", err.value)
        self.queue = api.clCreateCommandQueue(self.ctx, device.id, CL_QUEUE_PROFILING_ENABLE,
                                              ctypes.byref(err))
        self._check("clCreateCommandQueue", err.value)
        self.mems = []

    @staticmethod
    def _check(what, st, log=None):
        if st != CL_SUCCESS:
            raise ClError(what, st, log)

    def build(self, source, options):
        """A built program; a failed build raises ClError with the compiler's log."""
        api = self.api
        err = I32(0)
        src = ctypes.c_char_p(source.encode("utf-8"))
        srcs = (ctypes.c_char_p * 1)(src.value)
        prog = api.clCreateProgramWithSource(self.ctx, 1, srcs, None, ctypes.byref(err))
        self._check("clCreateProgramWithSource", err.value)
        devs = (P * 1)(self.device.id)
        st = api.clBuildProgram(prog, 1, devs, options.encode("utf-8"), None, None)
        if st != CL_SUCCESS:
            log = self.build_log(prog)
            api.clReleaseProgram(prog)
            raise ClError("clBuildProgram with options '%s'" % options, st, log)
        return prog

    def build_log(self, prog):
        size = SZ(0)
        f = self.api.clGetProgramBuildInfo
        if f(prog, self.device.id, CL_PROGRAM_BUILD_LOG, 0, None, ctypes.byref(size)) != 0:
            return "(no build log)"
        buf = ctypes.create_string_buffer(size.value + 1)
        f(prog, self.device.id, CL_PROGRAM_BUILD_LOG, size.value, buf, None)
        return buf.value.decode("utf-8", "replace").strip()

    def kernel(self, prog, name):
        err = I32(0)
        k = self.api.clCreateKernel(prog, name.encode(), ctypes.byref(err))
        self._check("clCreateKernel " + name, err.value)
        return k

    def buffer(self, nbytes):
        err = I32(0)
        m = self.api.clCreateBuffer(self.ctx, CL_MEM_READ_WRITE, max(4, nbytes), None,
                                    ctypes.byref(err))
        self._check("clCreateBuffer of %d bytes" % nbytes, err.value)
        self.mems.append(m)
        return m

    def write(self, mem, ptr, nbytes):
        self._check("clEnqueueWriteBuffer", self.api.clEnqueueWriteBuffer(
            self.queue, mem, 1, 0, nbytes, ptr, 0, None, None))

    def read(self, mem, ptr, nbytes):
        self._check("clEnqueueReadBuffer", self.api.clEnqueueReadBuffer(
            self.queue, mem, 1, 0, nbytes, ptr, 0, None, None))

    def set_args(self, k, args):
        """cl_mem handles (ctypes c_void_p values wrapped in Mem), Python ints (cl_int), floats."""
        for i, a in enumerate(args):
            if isinstance(a, Mem):
                v = P(a.handle)
                st = self.api.clSetKernelArg(k, i, ctypes.sizeof(P), ctypes.byref(v))
            elif isinstance(a, int):
                v = I32(a)
                st = self.api.clSetKernelArg(k, i, 4, ctypes.byref(v))
            elif isinstance(a, float):
                v = ctypes.c_float(a)
                st = self.api.clSetKernelArg(k, i, 4, ctypes.byref(v))
            else:
                raise TypeError("kernel argument %d is a %s" % (i, type(a)))
            self._check("clSetKernelArg %d" % i, st)

    def enqueue(self, k, global_size, local_size):
        """Launches with an event; returns the event (release with release_event)."""
        d = len(global_size)
        g = (SZ * d)(*global_size)
        lo = (SZ * d)(*local_size)
        ev = P()
        self._check("clEnqueueNDRangeKernel global %s local %s" % (list(global_size),
                                                                    list(local_size)),
                    self.api.clEnqueueNDRangeKernel(self.queue, k, d, None, g, lo, 0, None,
                                                    ctypes.byref(ev)))
        return ev

    def finish(self):
        self._check("clFinish", self.api.clFinish(self.queue))

    def event_ms(self, ev):
        t0 = U64(0)
        t1 = U64(0)
        f = self.api.clGetEventProfilingInfo
        self._check("profiling start", f(ev, CL_PROFILING_COMMAND_START, 8, ctypes.byref(t0), None))
        self._check("profiling end", f(ev, CL_PROFILING_COMMAND_END, 8, ctypes.byref(t1), None))
        self.api.clReleaseEvent(ev)
        return (t1.value - t0.value) / 1e6

    def release_mem(self, mem):
        if mem in self.mems:
            self.mems.remove(mem)
            self.api.clReleaseMemObject(mem)


class Mem:
    """A cl_mem handle as a kernel argument (distinct from a plain int)."""

    def __init__(self, handle):
        self.handle = handle
