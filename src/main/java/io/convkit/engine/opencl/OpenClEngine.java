package io.convkit.engine.opencl;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.conv.ConvWeights;
import io.convkit.engine.AbstractEngine;
import io.convkit.engine.Engine;
import io.convkit.engine.LrnSpec;
import io.convkit.engine.Precision;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.DeviceMemory;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.tensor.Views;
import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * The OpenCL engine: our kernels in {@code kernels-cl/} on one OpenCL device, through JOCL.
 *
 * <p>Programs are built once per engine (one context) and cached by source and build options;
 * tile sizes and block shapes are build options, chosen by {@link ClPlanner} from the device's
 * {@link Tuning}. Weights are uploaded (and packed for the GEMM kernel) at their first use and kept
 * on the device until the weights or the engine are closed.
 *
 * <p>LRN and layer norm run norm.cl, channel scaling eltwise.cl; a concatenation is one buffer copy
 * per (image, input).
 *
 * <p>Tensors may live on the device ({@code x.to(engine)}): calls on device tensors make no host
 * transfers, and work is queued without waiting ({@link #finish()} or reading a result waits).
 * Host tensors are accepted too: the engine copies them through staging buffers.
 */
public final class OpenClEngine extends AbstractEngine {
  /** Where the .cl files and the tuning data are on the class path. */
  static final String KERNELS = "io/convkit/engine/opencl/kernels/";

  private static final Map<String, String> SOURCES = new ConcurrentHashMap<>();

  /** Transfers and launches since the engine opened (for tests and benchmarks). */
  public record Stats(long uploads, long uploadBytes, long downloads, long downloadBytes,
      long launches) {}

  private final ClDevice device;
  private final Tuning tuning;
  private final cl_context context;
  private final cl_command_queue queue;
  private final String name;
  private final Map<String, cl_program> programs = new HashMap<>();
  private final Map<String, cl_kernel> kernels = new HashMap<>();
  private final Set<ClBuffer> live = Collections.newSetFromMap(new IdentityHashMap<>());
  // The same buffers' handles, for the cleaner (a ClBuffer refers to the engine; a handle doesn't).
  private final Set<cl_mem> liveMems = Collections.newSetFromMap(new IdentityHashMap<>());
  private final Cleaner.Cleanable cleanable;
  private final Map<ConvWeights, Map<String, DeviceWeights>> weights = new IdentityHashMap<>();
  private final Map<ConvPlan, ClConvPlan> plans = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<ConvPlan, ClConvPlan> e) {
      return size() > 512;
    }
  };
  private final boolean profiling;
  private final List<cl_event> events = new ArrayList<>();
  private final List<String> eventKernels = new ArrayList<>();
  private final ClBuffer[] staging = new ClBuffer[5];
  private final ClBuffer dummy;
  private long uploads;
  private long uploadBytes;
  private long downloads;
  private long downloadBytes;
  private long launches;
  private boolean closed;
  private final Precision precision;

  private OpenClEngine(ClDevice device, Tuning tuning, boolean profiling, Precision precision) {
    this.device = device;
    this.tuning = tuning;
    this.profiling = profiling;
    this.precision = precision;
    this.name = "opencl(" + device.name() + ", " + tuning.gemm().name().toLowerCase() + " GEMM"
        + (precision == Precision.FAST ? "" : ", " + precision.name().toLowerCase()) + ")";
    if (tuning.gemm() == Tuning.Gemm.TILED && tuning.tiledWorkGroup() > device.maxWorkGroupSize()) {
      throw new OpenClException(name + ": the tiled GEMM's work-group of " + tuning.tiledWorkGroup()
          + " is larger than the device's maximum " + device.maxWorkGroupSize());
    }
    try {
      this.context = CL.clCreateContext(null, 1, new cl_device_id[] {device.id()}, null, null,
          null);
    } catch (CLException e) {
      throw new OpenClException(name + ": cannot create a context: "
          + CL.stringFor_errorCode(e.getStatus()), e);
    }
    try {
      @SuppressWarnings("deprecation") // clCreateCommandQueueWithProperties needs OpenCL 2.0
      cl_command_queue q = CL.clCreateCommandQueue(context, device.id(),
          profiling ? CL.CL_QUEUE_PROFILING_ENABLE : 0, null);
      this.queue = q;
      this.dummy = buffer(1, "placeholder for absent bias");
    } catch (CLException e) {
      liveMems.forEach(CL::clReleaseMemObject);
      CL.clReleaseContext(context);
      throw new OpenClException(name + ": cannot create a command queue: "
          + CL.stringFor_errorCode(e.getStatus()), e);
    }
    // Releases what an engine that was never closed holds, once it is collected (which needs
    // every device tensor of it gone too, as each refers to the engine). Captures only handles.
    this.cleanable = CLEANER.register(this, new Release(context, queue, programs, kernels,
        liveMems));
  }

  private static final Cleaner CLEANER = Cleaner.create();

  /** The OpenCL objects an engine owns; releases each once. */
  private record Release(cl_context context, cl_command_queue queue,
      Map<String, cl_program> programs, Map<String, cl_kernel> kernels, Set<cl_mem> mems)
      implements Runnable {
    @Override
    public void run() {
      kernels.values().forEach(CL::clReleaseKernel);
      kernels.clear();
      programs.values().forEach(CL::clReleaseProgram);
      programs.clear();
      mems.forEach(CL::clReleaseMemObject);
      mems.clear();
      CL.clReleaseCommandQueue(queue);
      CL.clReleaseContext(context);
    }
  }

  /** Opens {@code device} with the tuning the data file gives it. */
  public static OpenClEngine open(ClDevice device) {
    return open(device, Tuning.forDevice(device.name(), device.type().name()));
  }

  /** Opens {@code device} with explicit tuning (tests run both GEMM kernels on one device). */
  public static OpenClEngine open(ClDevice device, Tuning tuning) {
    return new OpenClEngine(device, tuning, false, Precision.fromProperty());
  }

  /** Opens {@code device} with explicit tuning and precision (EXACT: no Winograd). */
  public static OpenClEngine open(ClDevice device, Tuning tuning, Precision precision) {
    return new OpenClEngine(device, tuning, false, precision);
  }

  /**
   * Opens {@code device} with profiling: every launch records its device time, and
   * {@link #kernelTimes()} reports them per kernel (benchmarks use it to split a layer's time).
   */
  public static OpenClEngine openProfiling(ClDevice device, Tuning tuning) {
    return new OpenClEngine(device, tuning, true, Precision.fromProperty());
  }

  /** The first device of {@code type}; for {@link DeviceType#ANY}, a GPU where there is one. */
  public static ClDevice select(DeviceType type) {
    List<ClDevice> all = ClDevice.list();
    if (type == DeviceType.ANY) {
      for (ClDevice d : all) {
        if (d.type() == DeviceType.GPU) {
          return d;
        }
      }
      if (!all.isEmpty()) {
        return all.get(0);
      }
    } else {
      for (ClDevice d : all) {
        if (d.type() == type) {
          return d;
        }
      }
    }
    throw new OpenClException("no OpenCL " + (type == DeviceType.ANY ? "" : type + " ")
        + "device; the platforms have " + describe(all));
  }

  /** Device {@code deviceIndex} of platform {@code platformIndex}. */
  public static ClDevice select(int platformIndex, int deviceIndex) {
    List<ClDevice> all = ClDevice.list();
    for (ClDevice d : all) {
      if (d.platformIndex() == platformIndex && d.deviceIndex() == deviceIndex) {
        return d;
      }
    }
    throw new OpenClException("no OpenCL device " + deviceIndex + " on platform " + platformIndex
        + "; the platforms have " + describe(all));
  }

  private static String describe(List<ClDevice> all) {
    if (all.isEmpty()) {
      return "no devices";
    }
    List<String> s = new ArrayList<>();
    for (ClDevice d : all) {
      s.add(d.describe());
    }
    return String.join("; ", s);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public int threads() {
    return device.computeUnits();
  }

  public ClDevice device() {
    return device;
  }

  public Tuning tuning() {
    return tuning;
  }

  public synchronized boolean isClosed() {
    return closed;
  }

  /** Device buffers this engine holds now (tensors, weights, staging and workspace). */
  public synchronized int liveBuffers() {
    return live.size();
  }

  public synchronized Stats stats() {
    return new Stats(uploads, uploadBytes, downloads, downloadBytes, launches);
  }

  /** What runs for a plan on this device, e.g. "im2col (packed) + gemm_packed 6x16". */
  public synchronized String describe(ConvPlan plan) {
    return clPlan(plan).description();
  }

  // ------------------------------------------------------------------------------------------
  // Device memory.

  @Override
  public boolean isHost() {
    return false;
  }

  @Override
  public synchronized DeviceMemory allocate(Shape shape) {
    checkOpen();
    return buffer(shape.elements(), "tensor " + shape);
  }

  /** A device buffer of {@code floats} elements; refused before allocating if over the limit. */
  synchronized ClBuffer buffer(long floats, String what) {
    long bytes = 4 * Math.max(1, floats);
    if (bytes > device.maxAllocBytes()) {
      throw new DeviceMemoryException(name + ": " + what + " needs " + bytes + " bytes, more than "
          + "the device's largest allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE " + device.maxAllocBytes()
          + " bytes)");
    }
    cl_mem m;
    try {
      m = CL.clCreateBuffer(context, CL.CL_MEM_READ_WRITE, bytes, null, null);
    } catch (CLException e) {
      throw failure("allocating " + bytes + " bytes for " + what, e);
    }
    ClBuffer b = new ClBuffer(this, m, floats, what);
    live.add(b);
    liveMems.add(m);
    return b;
  }

  private ClBuffer buffer(float[] data, String what) {
    ClBuffer b = buffer(data.length, what);
    write(b, Pointer.to(data), data.length);
    return b;
  }

  private ClBuffer buffer(int[] data, String what) {
    ClBuffer b = buffer(data.length, what);
    write(b, Pointer.to(data), data.length);
    return b;
  }

  synchronized void write(ClBuffer b, Pointer src, long floats) {
    checkOpen();
    try {
      CL.clEnqueueWriteBuffer(queue, b.mem(), CL.CL_TRUE, 0, 4 * floats, src, 0, null, null);
    } catch (CLException e) {
      throw failure("writing " + b, e);
    }
    uploads++;
    uploadBytes += 4 * floats;
  }

  synchronized void read(ClBuffer b, Pointer dst, long floats) {
    checkOpen();
    try {
      CL.clEnqueueReadBuffer(queue, b.mem(), CL.CL_TRUE, 0, 4 * floats, dst, 0, null, null);
    } catch (CLException e) {
      throw failure("reading " + b, e);
    }
    downloads++;
    downloadBytes += 4 * floats;
  }

  synchronized void release(ClBuffer b) {
    cl_mem m = b.detach();
    if (m != null) {
      live.remove(b);
      liveMems.remove(m);
      CL.clReleaseMemObject(m);
    }
  }

  /** A staging or workspace buffer of at least {@code floats}, grown on demand and reused. */
  private cl_mem scratch(int slot, long floats, String what) {
    ClBuffer b = staging[slot];
    if (b == null || b.floats() < floats) {
      if (b != null) {
        staging[slot] = null;
        release(b);
      }
      staging[slot] = buffer(floats, what);
    }
    return staging[slot].mem();
  }

  /** A tensor's device memory: its own if it lives here, else a staging copy of it. */
  private cl_mem input(Tensor t, int slot, String role) {
    if (t.isOnHost()) {
      cl_mem m = scratch(slot, t.elements(), "staging for the " + role);
      write(staging[slot], Pointer.to(t.pointer().asByteBuffer()), t.elements());
      return m;
    }
    return own(t, role);
  }

  /** Where an output goes: its own memory, or a staging buffer read back by {@link #output}. */
  private cl_mem outputMem(Tensor t, int slot, String role) {
    return t.isOnHost() ? scratch(slot, t.elements(), "staging for the " + role) : own(t, role);
  }

  private void output(Tensor t, int slot) {
    if (t.isOnHost()) {
      read(staging[slot], Pointer.to(t.pointer().asByteBuffer()), t.elements());
    }
  }

  private cl_mem own(Tensor t, String role) {
    DeviceMemory m = t.deviceMemory();
    if (!(m instanceof ClBuffer b) || b.device() != this) {
      throw new IllegalArgumentException(name + ": the " + role + " " + t + " lives on "
          + t.device().name() + "; move it here with tensor.to(engine)");
    }
    return b.mem();
  }

  // ------------------------------------------------------------------------------------------
  // Programs and kernels.

  /** The cached kernel {@code kernel} of {@code file}.cl built with {@code options}. */
  private cl_kernel kernel(String file, String options, String kernel) {
    String key = file + "|" + options + "|" + kernel;
    cl_kernel k = kernels.get(key);
    if (k == null) {
      cl_program p = program(file, options);
      try {
        k = CL.clCreateKernel(p, kernel, null);
      } catch (CLException e) {
        throw failure("creating kernel " + kernel + " of " + file + ".cl", e);
      }
      kernels.put(key, k);
    }
    return k;
  }

  private cl_program program(String file, String options) {
    String key = file + "|" + options;
    cl_program p = programs.get(key);
    if (p == null) {
      p = build(file + ".cl", source("activation.cl") + "\n" + source(file + ".cl"), options);
      programs.put(key, p);
    }
    return p;
  }

  /**
   * Builds a program for this device; a failure throws with the device, the options and the
   * compiler's build log in the message.
   */
  synchronized cl_program build(String label, String source, String options) {
    checkOpen();
    cl_program p;
    try {
      p = CL.clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
    } catch (CLException e) {
      throw failure("creating program " + label, e);
    }
    String opts = "-cl-mad-enable " + options;
    try {
      CL.clBuildProgram(p, 1, new cl_device_id[] {device.id()}, opts, null, null);
    } catch (CLException e) {
      String log = buildLog(p);
      CL.clReleaseProgram(p);
      throw new OpenClException(name + ": building " + label + " with options '" + opts
          + "' failed (" + CL.stringFor_errorCode(e.getStatus()) + "); build log:\n" + log, e);
    }
    return p;
  }

  private String buildLog(cl_program p) {
    try {
      long[] size = new long[1];
      CL.clGetProgramBuildInfo(p, device.id(), CL.CL_PROGRAM_BUILD_LOG, 0, null, size);
      byte[] b = new byte[(int) size[0]];
      CL.clGetProgramBuildInfo(p, device.id(), CL.CL_PROGRAM_BUILD_LOG, b.length, Pointer.to(b),
          null);
      int n = 0;
      while (n < b.length && b[n] != 0) {
        n++;
      }
      return new String(b, 0, n, StandardCharsets.UTF_8).strip();
    } catch (CLException e) {
      return "(no build log: " + CL.stringFor_errorCode(e.getStatus()) + ")";
    }
  }

  static String source(String file) {
    return SOURCES.computeIfAbsent(file, f -> {
      try (InputStream in = OpenClEngine.class.getClassLoader().getResourceAsStream(KERNELS + f)) {
        if (in == null) {
          throw new IllegalStateException("kernel source " + KERNELS + f + " is not on the class path");
        }
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new IllegalStateException("cannot read " + KERNELS + f + ": " + e.getMessage(), e);
      }
    });
  }

  /** Sets a kernel's arguments in order: cl_mem buffers and ints. */
  private static void args(cl_kernel k, Object... args) {
    for (int i = 0; i < args.length; i++) {
      Object a = args[i];
      if (a instanceof cl_mem m) {
        CL.clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(m));
      } else if (a instanceof Integer v) {
        CL.clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {v}));
      } else if (a instanceof Float v) {
        CL.clSetKernelArg(k, i, Sizeof.cl_float, Pointer.to(new float[] {v}));
      } else {
        throw new AssertionError("kernel argument " + i + " is a " + a.getClass());
      }
    }
  }

  private void launch(String what, cl_kernel k, long[] global, long[] local) {
    for (int d = 0; d < global.length; d++) {
      global[d] = (global[d] + local[d] - 1) / local[d] * local[d];
    }
    cl_event ev = profiling ? new cl_event() : null;
    try {
      CL.clEnqueueNDRangeKernel(queue, k, global.length, null, global, local, 0, null, ev);
    } catch (CLException e) {
      throw failure("launching " + what, e);
    }
    launches++;
    if (profiling) {
      events.add(ev);
      eventKernels.add(what);
    }
  }

  /**
   * Profiling engines: device milliseconds per kernel name since the last call (waits for queued
   * work first), in launch order of first appearance. Empty for an engine opened without
   * profiling.
   */
  public synchronized Map<String, Double> kernelTimes() {
    Map<String, Double> out = new LinkedHashMap<>();
    if (!profiling) {
      return out;
    }
    finish();
    long[] t0 = new long[1];
    long[] t1 = new long[1];
    for (int i = 0; i < events.size(); i++) {
      cl_event ev = events.get(i);
      CL.clGetEventProfilingInfo(ev, CL.CL_PROFILING_COMMAND_START, Sizeof.cl_ulong,
          Pointer.to(t0), null);
      CL.clGetEventProfilingInfo(ev, CL.CL_PROFILING_COMMAND_END, Sizeof.cl_ulong,
          Pointer.to(t1), null);
      out.merge(eventKernels.get(i), (t1[0] - t0[0]) / 1e6, Double::sum);
      CL.clReleaseEvent(ev);
    }
    events.clear();
    eventKernels.clear();
    return out;
  }

  private OpenClException failure(String op, CLException e) {
    int s = e.getStatus();
    String msg = name + ": " + op + " failed: " + CL.stringFor_errorCode(s);
    if (s == CL.CL_MEM_OBJECT_ALLOCATION_FAILURE || s == CL.CL_OUT_OF_RESOURCES
        || s == CL.CL_OUT_OF_HOST_MEMORY || s == CL.CL_INVALID_BUFFER_SIZE) {
      return new DeviceMemoryException(msg + " (out of device memory: the device has "
          + device.globalMemBytes() + " bytes in all)", e);
    }
    return new OpenClException(msg, e);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException(name + " is closed");
    }
  }

  // ------------------------------------------------------------------------------------------
  // Convolution.

  /** What runs {@code plan}: the kernels {@link ClPlanner} chose (any layout: NCHW kernels). */
  @Override
  public String implementation(ConvPlan plan, Layout layout) {
    return clPlan(plan).description();
  }

  private ClConvPlan clPlan(ConvPlan plan) {
    return plans.computeIfAbsent(plan, p -> ClPlanner.plan(p, tuning, precision));
  }

  @Override
  protected synchronized void runConvolve(ConvPlan plan, ConvWeights w, Tensor x, Tensor y) {
    checkOpen(); // the weights are held open for the call (AbstractEngine)
    ClConvPlan cp = clPlan(plan);
    DeviceWeights dw = deviceWeights(w, cp);
    cl_mem xm = input(x, 0, "input");
    cl_mem ym = outputMem(y, 1, "output");
    switch (cp.kind()) {
      case GEMM -> gemmConv(cp, dw, xm, ym);
      case DEPTHWISE -> depthwise(cp, dw, xm, ym);
      case CONNECTION_TABLE -> connectionTable(cp, dw, xm, ym);
      case WINOGRAD -> winograd(cp, dw, xm, ym);
      default -> throw new AssertionError(cp.kind());
    }
    output(y, 1);
  }

  private void gemmConv(ClConvPlan cp, DeviceWeights dw, cl_mem x, cl_mem y) {
    ConvPlan p = cp.plan();
    ConvSpec s = p.spec();
    Shape in = p.input();
    Shape out = p.output();
    int n = out.h() * out.w();
    int mg = s.outChannelsPerGroup();
    int kg = p.gemmK();
    int groups = s.groups();
    int act = s.activation().code();
    int hasBias = s.hasBias() ? 1 : 0;
    cl_mem bias = dw.bias == null ? dummy.mem() : dw.bias.mem();
    boolean packed = cp.gemm() == Tuning.Gemm.PACKED;
    cl_mem ws = cp.unfold() ? scratch(2, cp.workspaceFloats(), "im2col workspace") : null;
    cl_kernel unfold = null;
    if (cp.unfold()) {
      unfold = packed ? kernel("im2col", cp.im2colOptions(), "im2col_packed")
          : kernel("im2col", "", "im2col_rows");
    }
    cl_kernel gemm = gemmKernel(cp);
    long inImage = (long) in.c() * in.h() * in.w();
    long outImage = (long) out.c() * n;
    int kAll = groups * kg;
    Object[] geometry = {in.c(), in.h(), in.w(), s.kernelH(), s.kernelW(), s.strideH(),
        s.strideW(), s.padTop(), s.padLeft(), s.dilationH(), s.dilationW(), out.h(), out.w()};
    for (int img = 0; img < in.n(); img++) {
      int xOff = (int) (img * inImage);
      cl_mem b = x;
      int bOff = xOff;
      if (cp.unfold()) {
        if (packed) {
          args(unfold, concat(new Object[] {x, xOff, ws, kg}, geometry));
          launch("im2col_packed", unfold, new long[] {out.h(), kAll},
              new long[] {1, tuning.lx()});
        } else {
          args(unfold, concat(new Object[] {x, xOff, ws, n}, geometry));
          launch("im2col_rows", unfold, new long[] {out.h(), kAll}, new long[] {1, tuning.lx()});
        }
        b = ws;
        bOff = 0;
      }
      args(gemm, dw.a.mem(), b, bOff, n, y, (int) (img * outImage), n, bias, hasBias, act, mg, n,
          kg);
      launchGemm(cp, gemm, n, mg, groups);
    }
  }

  /** The plan's GEMM kernel: the packed one or the tiled one (the tuning's choice). */
  private cl_kernel gemmKernel(ClConvPlan cp) {
    return cp.gemm() == Tuning.Gemm.PACKED
        ? kernel("gemm_packed", cp.gemmOptions(), "gemm_packed")
        : kernel("gemm_tiled", cp.gemmOptions(), "gemm_tiled");
  }

  /**
   * Launches {@code gemm} (its arguments set) over n columns x m rows, {@code batch} matrices
   * along the third dimension (groups, or Winograd's positions).
   */
  private void launchGemm(ClConvPlan cp, cl_kernel gemm, long n, long m, long batch) {
    if (cp.gemm() == Tuning.Gemm.PACKED) {
      int nb = 8 * tuning.nv();
      launch("gemm_packed", gemm, new long[] {(n + nb - 1) / nb, (m + cp.mr() - 1) / cp.mr(),
          batch}, new long[] {tuning.pl(), 1, 1});
    } else {
      int rtsn = tuning.tsn() / tuning.wptn();
      int rtsm = tuning.tsm() / tuning.wptm();
      launch("gemm_tiled", gemm, new long[] {(n + tuning.tsn() - 1) / tuning.tsn() * rtsn,
          (m + tuning.tsm() - 1) / tuning.tsm() * rtsm, batch}, new long[] {rtsn, rtsm, 1});
    }
  }

  /**
   * Winograd (winograd.cl), image by image: the input transform into V [a^2][C][T], the GEMM with
   * a group per position into M [a^2][K][T], the output transform (bias, direct recomputation of
   * non-finite tiles, activation) into y.
   */
  private void winograd(ClConvPlan cp, DeviceWeights dw, cl_mem x, cl_mem y) {
    ConvPlan p = cp.plan();
    ConvSpec s = p.spec();
    Shape in = p.input();
    Shape out = p.output();
    int m = cp.winogradTile();
    int a2 = (m + 2) * (m + 2);
    int tw = (out.w() + m - 1) / m;
    int tiles = ((out.h() + m - 1) / m) * tw;
    int c = in.c();
    int k = out.c();
    cl_mem v = scratch(2, cp.workspaceFloats(), "Winograd transformed input");
    cl_mem mm = scratch(3, (long) a2 * k * tiles, "Winograd products");
    cl_kernel input = kernel("winograd", cp.directOptions(), "wino_input");
    cl_kernel output = kernel("winograd", cp.directOptions(), "wino_output");
    cl_kernel gemm = gemmKernel(cp);
    cl_mem bias = dw.bias == null ? dummy.mem() : dw.bias.mem();
    long inImage = (long) c * in.h() * in.w();
    long outImage = (long) k * out.h() * out.w();
    for (int img = 0; img < in.n(); img++) {
      int xOff = (int) (img * inImage);
      args(input, x, xOff, v, c, in.h(), in.w(), s.padTop(), s.padLeft(), tw, tiles);
      launch("wino_input", input, new long[] {tiles, c}, new long[] {tuning.lx(), 1});
      args(gemm, dw.a.mem(), v, 0, tiles, mm, 0, tiles, dummy.mem(), 0, 0, k, tiles, c);
      launchGemm(cp, gemm, tiles, k, a2);
      args(output, mm, x, xOff, dw.in.mem(), bias, s.hasBias() ? 1 : 0, s.activation().code(), y,
          (int) (img * outImage), c, in.h(), in.w(), k, out.h(), out.w(), s.padTop(),
          s.padLeft(), tw, tiles);
      launch("wino_output", output, new long[] {tiles, k}, new long[] {tuning.lx(), 1});
    }
  }

  private void depthwise(ClConvPlan cp, DeviceWeights dw, cl_mem x, cl_mem y) {
    ConvPlan p = cp.plan();
    ConvSpec s = p.spec();
    Shape in = p.input();
    Shape out = p.output();
    boolean rows = tuning.depthwiseRows();
    cl_kernel k = kernel("depthwise", cp.directOptions(), rows ? "depthwise_rows" : "depthwise");
    Object[] a = {x, 0, dw.a.mem(), dw.bias == null ? dummy.mem() : dw.bias.mem(),
        s.hasBias() ? 1 : 0, s.activation().code(), y, 0, in.c(), in.h(), in.w(), out.c(),
        out.h(), out.w(), s.padTop(), s.padLeft()};
    if (cp.directOptions().isEmpty()) {
      a = concat(a, new Object[] {s.kernelH(), s.kernelW(), s.strideH(), s.strideW(),
          s.dilationH(), s.dilationW()});
    }
    args(k, a);
    if (rows) {
      launch("depthwise_rows", k, new long[] {out.h(), (long) out.n() * out.c()},
          new long[] {tuning.lx(), 1});
    } else {
      launch("depthwise", k, new long[] {out.w(), out.h(), (long) out.n() * out.c()},
          new long[] {tuning.lx(), 1, 1});
    }
  }

  private void connectionTable(ClConvPlan cp, DeviceWeights dw, cl_mem x, cl_mem y) {
    ConvPlan p = cp.plan();
    ConvSpec s = p.spec();
    Shape in = p.input();
    Shape out = p.output();
    cl_kernel k = kernel("conv_table", "", "conv_table");
    args(k, x, 0, dw.a.mem(), dw.start.mem(), dw.in.mem(),
        dw.bias == null ? dummy.mem() : dw.bias.mem(), s.hasBias() ? 1 : 0, s.activation().code(),
        y, 0, in.c(), in.h(), in.w(), out.c(), out.h(), out.w(), s.kernelH(), s.kernelW(),
        s.strideH(), s.strideW(), s.padTop(), s.padLeft(), s.dilationH(), s.dilationW());
    launch("conv_table", k, new long[] {out.w(), out.h(), (long) out.n() * out.c()},
        new long[] {tuning.lx(), 1, 1});
  }

  private static Object[] concat(Object[] a, Object[] b) {
    Object[] r = new Object[a.length + b.length];
    System.arraycopy(a, 0, r, 0, a.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  // ------------------------------------------------------------------------------------------
  // Weights on the device.

  /** A layer's weights in the layout a kernel family reads, uploaded once. */
  private static final class DeviceWeights {
    ClBuffer a;
    ClBuffer bias;
    ClBuffer start;
    ClBuffer in; // connection tables: the inputs; Winograd: the original weights

    void release(OpenClEngine e) {
      for (ClBuffer b : new ClBuffer[] {a, bias, start, in}) {
        if (b != null) {
          e.release(b);
        }
      }
    }
  }

  private DeviceWeights deviceWeights(ConvWeights w, ClConvPlan cp) {
    String layout = switch (cp.kind()) {
      case GEMM -> cp.gemm() == Tuning.Gemm.PACKED ? "packed mr=" + cp.mr() : "rows";
      case DEPTHWISE -> "rows";
      case CONNECTION_TABLE -> "table";
      case WINOGRAD -> "winograd " + cp.directOptions() + " " + cp.gemm() + " mr=" + cp.mr();
    };
    Map<String, DeviceWeights> byLayout = weights.get(w);
    if (byLayout == null) {
      purgeClosedWeights();
      byLayout = new HashMap<>();
      weights.put(w, byLayout);
    }
    DeviceWeights d = byLayout.get(layout);
    if (d == null) {
      d = upload(w, cp, layout);
      byLayout.put(layout, d);
    }
    return d;
  }

  private void purgeClosedWeights() {
    for (Iterator<Map.Entry<ConvWeights, Map<String, DeviceWeights>>> it =
        weights.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<ConvWeights, Map<String, DeviceWeights>> e = it.next();
      if (e.getKey().isClosed()) {
        e.getValue().values().forEach(d -> d.release(this));
        it.remove();
      }
    }
  }

  private DeviceWeights upload(ConvWeights w, ClConvPlan cp, String layout) {
    ConvSpec s = w.spec();
    String label = s.name() + " weights";
    DeviceWeights d = new DeviceWeights();
    try {
      float[] dense = w.denseArray();
      if (layout.startsWith("winograd")) {
        int m = cp.winogradTile();
        int a2 = (m + 2) * (m + 2);
        float[] u = WinogradWeights.transform(dense, s.outChannels(), s.inChannels(), m);
        d.a = buffer(cp.gemm() == Tuning.Gemm.PACKED
            ? packA(u, a2, s.outChannels(), s.inChannels(), cp.mr()) : u,
            label + " (Winograd F(" + m + "x" + m + "))");
        d.in = buffer(dense, label + " (for non-finite tiles)");
      } else if (layout.startsWith("packed")) {
        d.a = buffer(packA(dense, s.groups(), s.outChannelsPerGroup(), cp.plan().gemmK(), cp.mr()),
            label + " (packed)");
      } else if (layout.equals("table")) {
        int rs = s.kernelH() * s.kernelW();
        int[] start = new int[s.outChannels() + 1];
        List<Integer> inputs = new ArrayList<>();
        for (int o = 0; o < s.outChannels(); o++) {
          start[o] = inputs.size();
          for (int i = 0; i < s.inChannels(); i++) {
            if (s.connected(o, i)) {
              inputs.add(i);
            }
          }
        }
        start[s.outChannels()] = inputs.size();
        int[] in = new int[inputs.size()];
        float[] packed = new float[inputs.size() * rs];
        for (int o = 0, j = 0; o < s.outChannels(); o++) {
          for (; j < start[o + 1]; j++) {
            in[j] = inputs.get(j);
            System.arraycopy(dense, (o * s.inChannels() + in[j]) * rs, packed, j * rs, rs);
          }
        }
        d.a = buffer(packed, label + " (connected blocks)");
        d.start = buffer(start, label + " (table starts)");
        d.in = buffer(in.length == 0 ? new int[1] : in, label + " (table inputs)");
      } else {
        d.a = buffer(dense, label);
      }
      if (w.biasArray() != null) {
        d.bias = buffer(w.biasArray(), s.name() + " bias");
      }
      return d;
    } catch (RuntimeException | Error e) {
      d.release(this);
      throw e;
    }
  }

  /** Dense [G*Mg][K] weights as [G][ceil(Mg/mr)][K][mr], rows past Mg zero. */
  static float[] packA(float[] dense, int groups, int mg, int k, int mr) {
    int mp = (mg + mr - 1) / mr;
    float[] a = new float[groups * mp * k * mr];
    for (int g = 0; g < groups; g++) {
      for (int m = 0; m < mg; m++) {
        int panel = g * mp + m / mr;
        int r = m % mr;
        int src = (g * mg + m) * k;
        for (int kk = 0; kk < k; kk++) {
          a[(panel * k + kk) * mr + r] = dense[src + kk];
        }
      }
    }
    return a;
  }

  // ------------------------------------------------------------------------------------------
  // Pooling and add.

  @Override
  protected synchronized void runPool(PoolSpec spec, Tensor x, Tensor y) {
    checkOpen();
    Shape in = x.shape();
    Shape out = y.shape();
    cl_mem xm = input(x, 0, "input");
    cl_mem ym = outputMem(y, 1, "output");
    cl_kernel k = kernel("pool", "", "pool");
    args(k, xm, 0, ym, 0, in.h(), in.w(), out.h(), out.w(), spec.kernelH(in), spec.kernelW(in),
        spec.isGlobal() ? 1 : spec.strideH(), spec.isGlobal() ? 1 : spec.strideW(),
        spec.padTop(), spec.padLeft(), spec.padBottom(), spec.padRight(),
        spec.kind() == PoolKind.MAX ? 1 : 0, spec.countPadding() ? 1 : 0);
    launch("pool", k, new long[] {out.w(), out.h(), (long) out.n() * out.c()},
        new long[] {tuning.lx(), 1, 1});
    output(y, 1);
  }

  @Override
  protected synchronized void runAdd(Tensor a, Tensor b, Tensor y, Activation act) {
    checkOpen();
    // Host operands go through their own staging slots; an output that aliases an input on the
    // host is read back from the output slot, so aliasing is harmless.
    cl_mem am = input(a, 0, "first operand");
    cl_mem bm = b == a ? am : input(b, 3, "second operand");
    cl_mem ym = outputMem(y, 1, "output");
    cl_kernel k = kernel("eltwise", "", "add");
    args(k, am, bm, ym, a.elements(), act.code());
    launch("add", k, new long[] {a.elements()}, new long[] {tuning.lx()});
    output(y, 1);
  }

  /**
   * NCHW to NHWC or back (kernels-cl/eltwise.cl's reorder), one output element per work item.
   * The engine runs NCHW only; this serves callers that hand it NHWC tensors.
   */
  @Override
  protected synchronized void runReorder(Tensor x, Tensor y) {
    checkOpen();
    Shape s = x.shape();
    cl_mem xm = input(x, 0, "input");
    cl_mem ym = outputMem(y, 1, "output");
    cl_kernel k = kernel("eltwise", "", "reorder");
    args(k, xm, ym, x.elements(), s.c(), s.plane(),
        y.layout() == io.convkit.tensor.Layout.NHWC ? 1 : 0);
    launch("reorder", k, new long[] {x.elements()}, new long[] {tuning.lx()});
    output(y, 1);
  }

  // ------------------------------------------------------------------------------------------
  // LRN, layer norm, concatenation and channel scaling.

  @Override
  protected synchronized void runLrn(LrnSpec spec, Tensor x, Tensor y) {
    checkOpen();
    Shape s = x.shape();
    cl_mem xm = input(x, 0, "input");
    cl_mem ym = outputMem(y, 1, "output");
    cl_kernel k = kernel("norm", "", "lrn");
    args(k, xm, ym, s.c(), s.plane(), spec.before(), spec.after(),
        (float) (spec.alpha() / spec.size()), (float) spec.beta(), spec.beta() == 0.75 ? 1 : 0,
        (float) spec.k());
    launch("lrn", k, new long[] {s.plane(), s.c(), s.n()}, new long[] {tuning.lx(), 1, 1});
    output(y, 1);
  }

  /**
   * Layer norm; gamma and beta are read from the device where they live here (the forward pass
   * puts them on the device once per layer), else staged per call like any host tensor.
   */
  @Override
  protected synchronized void runLayerNorm(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor y) {
    checkOpen();
    Shape s = x.shape();
    cl_mem xm = input(x, 0, "input");
    cl_mem gm = input(gamma, 3, "gamma");
    cl_mem bm = input(beta, 4, "beta");
    cl_mem ym = outputMem(y, 1, "output");
    cl_kernel k = kernel("norm", "", "layer_norm");
    args(k, xm, gm, bm, (float) eps, ym, s.c(), s.plane());
    launch("layer_norm", k, new long[] {s.plane(), s.n()}, new long[] {tuning.lx(), 1});
    output(y, 1);
  }

  /**
   * Concatenation as one copy per (image, input) into the output's channel range: device to
   * device with clEnqueueCopyBuffer, and a host operand written or read straight into or out of
   * its range (no staging); all-host operands are copied on the host.
   */
  @Override
  protected synchronized void runConcat(List<Tensor> xs, Tensor y) {
    checkOpen();
    Shape out = y.shape();
    long hw = out.plane();
    long outImageBytes = 4 * out.c() * hw;
    cl_mem ym = y.isOnHost() ? null : own(y, "output");
    long channelsBefore = 0;
    for (int i = 0; i < xs.size(); i++) {
      Tensor x = xs.get(i);
      cl_mem xm = x.isOnHost() ? null : own(x, "input " + i);
      long bytes = 4 * x.shape().c() * hw;
      for (int n = 0; n < out.n(); n++) {
        long src = n * bytes;
        long dst = n * outImageBytes + 4 * channelsBefore * hw;
        try {
          if (xm != null && ym != null) {
            CL.clEnqueueCopyBuffer(queue, xm, ym, src, dst, bytes, 0, null, null);
          } else if (ym != null) {
            CL.clEnqueueWriteBuffer(queue, ym, CL.CL_TRUE, dst, bytes,
                Pointer.to(x.pointer().asByteBuffer()).withByteOffset(src), 0, null, null);
            uploads++;
            uploadBytes += bytes;
          } else if (xm != null) {
            CL.clEnqueueReadBuffer(queue, xm, CL.CL_TRUE, src, bytes,
                Pointer.to(y.pointer().asByteBuffer()).withByteOffset(dst), 0, null, null);
            downloads++;
            downloadBytes += bytes;
          } else {
            // Both on the host: JavaCPP's memcpy (org.jocl.Pointer is the imported Pointer).
            org.bytedeco.javacpp.Pointer.memcpy(Views.at(y.pointer(), dst / 4),
                Views.at(x.pointer(), src / 4), bytes);
          }
        } catch (CLException e) {
          throw failure("copying input " + i + " of a concatenation", e);
        }
      }
      channelsBefore += x.shape().c();
    }
  }

  @Override
  protected synchronized void runScaleChannels(Tensor x, Tensor s, Tensor y) {
    checkOpen();
    // As in add: an output that aliases the input on the host is read back from its own slot.
    cl_mem xm = input(x, 0, "input");
    cl_mem sm = input(s, 3, "scale");
    cl_mem ym = outputMem(y, 1, "output");
    cl_kernel k = kernel("eltwise", "", "scale_channels");
    args(k, xm, sm, ym, x.elements(), x.shape().plane());
    launch("scale_channels", k, new long[] {x.elements()}, new long[] {tuning.lx()});
    output(y, 1);
  }

  // ------------------------------------------------------------------------------------------

  @Override
  public synchronized void finish() {
    checkOpen();
    try {
      CL.clFinish(queue);
    } catch (CLException e) {
      throw failure("waiting for queued work", e);
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    try {
      CL.clFinish(queue);
    } catch (CLException ignored) {
      // Closing anyway: release what we hold.
    }
    closed = true;
    events.forEach(CL::clReleaseEvent);
    events.clear();
    weights.clear();
    for (ClBuffer b : new ArrayList<>(live)) {
      release(b);
    }
    cleanable.clean(); // kernels, programs, the queue and the context; once
  }

  @Override
  public String toString() {
    return name;
  }
}
