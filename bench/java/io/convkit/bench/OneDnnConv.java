package io.convkit.bench;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.dnnl_a;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_direct;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_forward_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_gelu_erf;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_logistic;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_swish;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_tanh;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_clip;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_relu;
import static org.bytedeco.dnnl.global.dnnl.dnnl_engine_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_engine_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;
import static org.bytedeco.dnnl.global.dnnl.dnnl_format_tag_any;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_inference;
import static org.bytedeco.dnnl.global.dnnl.dnnl_goihw;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_create_with_tag;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_equal;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_get_size;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_nchw;
import static org.bytedeco.dnnl.global.dnnl.dnnl_oihw;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_append_eltwise;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_set_post_ops;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_dst_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_impl_info_str;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_src_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_weights_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_reorder_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_default_flags;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_wait;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;
import static org.bytedeco.dnnl.global.dnnl.dnnl_unimplemented;

import io.convkit.conv.ConvSpec;
import io.convkit.tensor.Shape;
import java.util.ArrayDeque;
import java.util.Deque;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * One oneDNN (DNNL) forward-inference convolution on the CPU, built through oneDNN's C API as
 * the JavaCPP presets expose it. It is the independent implementation our correctness tests
 * compare against and the speed peer of the benchmarks.
 *
 * <p>With {@code bestLayout == false} source and destination are plain NCHW and the weights
 * plain OIHW (GOIHW with groups), so oneDNN has to compute on our own layout. With
 * {@code bestLayout == true} source, weights and destination are {@code format_tag::any}: oneDNN
 * picks the layouts its fastest kernel wants. The weights are then reordered into that layout
 * once, here; {@link #run(float[])} reorders the NCHW input in and the output back out around
 * the convolution; {@link #execute()} runs the convolution alone on the internal buffers, so a
 * benchmark that times it measures no reorder.
 *
 * <p>oneDNN threads with OpenMP: the thread count is fixed by {@code OMP_NUM_THREADS} when the
 * JVM starts. One instance must not be used from several threads at once. Every oneDNN object
 * and every off-heap buffer is released by {@link #close()}.
 */
public final class OneDnnConv implements AutoCloseable {
  private static final int ALIGNMENT = 64;
  private static volatile Boolean available;

  /** Releases, most recent first; {@link #close()} runs and empties it. */
  private final Deque<Runnable> releases = new ArrayDeque<>();
  private final ConvSpec spec;
  private final Shape inputShape;
  private final Shape outputShape;
  private final String implementation;

  private dnnl_engine engine;
  private dnnl_stream stream;
  private dnnl_primitive conv;
  private dnnl_exec_arg_t convArgs;
  private int convArgCount;
  private FloatPointer userSrc; // NCHW input the caller's data is copied into
  private FloatPointer userDst; // NCHW output read back by run()
  private dnnl_primitive srcReorder; // null when oneDNN computes on NCHW input directly
  private dnnl_exec_arg_t srcReorderArgs;
  private dnnl_primitive dstReorder; // null when oneDNN writes NCHW output directly
  private dnnl_exec_arg_t dstReorderArgs;
  private boolean closed;

  /** True when the oneDNN presets load on this machine. */
  public static boolean available() {
    Boolean a = available;
    if (a == null) {
      synchronized (OneDnnConv.class) {
        a = available;
        if (a == null) {
          a = probe();
          available = a;
        }
      }
    }
    return a;
  }

  private static boolean probe() {
    try {
      Loader.load(org.bytedeco.dnnl.global.dnnl.class);
      dnnl_engine e = new dnnl_engine();
      if (dnnl_engine_create(e, dnnl_cpu, 0) != dnnl_success || e.isNull()) {
        return false;
      }
      dnnl_engine_destroy(e);
      return true;
    } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError, ExceptionInInitializerError
      return false;
    }
  }

  /**
   * A forward-inference convolution primitive for {@code spec} on an NCHW input of shape
   * {@code input}, with dense weights {@code [out][in/groups][kh][kw]} and the bias (null when the
   * spec has none). The fused activation becomes a oneDNN eltwise post-op (RELU: relu with
   * slope 0; RELU6: clip to [0, 6]; SIGMOID: logistic; SWISH: swish with alpha 1; GELU:
   * gelu_erf; TANH: tanh). Connection-table specs are not supported.
   */
  public OneDnnConv(ConvSpec spec, Shape input, float[] weights, float[] bias, boolean bestLayout) {
    if (spec == null || input == null) {
      throw new IllegalArgumentException("spec and input shape are required");
    }
    if (spec.hasConnections()) {
      throw new IllegalArgumentException(spec.name()
          + ": oneDNN has no connection-table convolution: " + spec);
    }
    Shape out = spec.outputShape(input); // checks rank, channels and output size
    if (weights == null || weights.length != spec.denseWeightCount()) {
      throw new IllegalArgumentException(spec.name() + ": expected " + spec.denseWeightCount()
          + " weights, got " + (weights == null ? "none" : String.valueOf(weights.length)));
    }
    if (spec.hasBias() != (bias != null)
        || (bias != null && bias.length != spec.outChannels())) {
      throw new IllegalArgumentException(spec.name() + ": expected "
          + (spec.hasBias() ? spec.outChannels() + " bias values" : "no bias") + ", got "
          + (bias == null ? "none" : String.valueOf(bias.length)));
    }
    if (!available()) {
      throw new IllegalStateException("oneDNN is not available on this machine");
    }
    this.spec = spec;
    this.inputShape = input;
    this.outputShape = out;
    try {
      this.implementation = build(weights, bias, bestLayout);
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  private String build(float[] weights, float[] bias, boolean bestLayout) {
    ConvSpec s = spec;
    int groups = s.groups();

    engine = new dnnl_engine();
    check(dnnl_engine_create(engine, dnnl_cpu, 0), "engine_create");
    final dnnl_engine eng = engine;
    onClose(() -> dnnl_engine_destroy(eng));
    stream = new dnnl_stream();
    check(dnnl_stream_create(stream, engine, dnnl_stream_default_flags), "stream_create");
    final dnnl_stream str = stream;
    onClose(() -> dnnl_stream_destroy(str));

    // User (plain) descriptors.
    long[] srcDims = {inputShape.n(), inputShape.c(), inputShape.h(), inputShape.w()};
    long[] dstDims = {outputShape.n(), outputShape.c(), outputShape.h(), outputShape.w()};
    long[] wDims = groups == 1
        ? new long[] {s.outChannels(), s.inChannels(), s.kernelH(), s.kernelW()}
        : new long[] {groups, s.outChannelsPerGroup(), s.inChannelsPerGroup(), s.kernelH(),
            s.kernelW()};
    int wTag = groups == 1 ? dnnl_oihw : dnnl_goihw;
    dnnl_memory_desc userSrcMd = memoryDesc(srcDims, dnnl_nchw);
    dnnl_memory_desc userDstMd = memoryDesc(dstDims, dnnl_nchw);
    dnnl_memory_desc userWMd = memoryDesc(wDims, wTag);
    dnnl_memory_desc biasMd = s.hasBias() ? memoryDesc(new long[] {s.outChannels()}, dnnl_a) : null;
    dnnl_memory_desc convSrcMd = bestLayout ? memoryDesc(srcDims, dnnl_format_tag_any) : userSrcMd;
    dnnl_memory_desc convDstMd = bestLayout ? memoryDesc(dstDims, dnnl_format_tag_any) : userDstMd;
    dnnl_memory_desc convWMd = bestLayout ? memoryDesc(wDims, dnnl_format_tag_any) : userWMd;

    // Fused activation as an eltwise post-op.
    dnnl_primitive_attr attr = new dnnl_primitive_attr();
    check(dnnl_primitive_attr_create(attr), "primitive_attr_create");
    onClose(() -> dnnl_primitive_attr_destroy(attr));
    if (s.activation() != io.convkit.conv.Activation.NONE) {
      dnnl_post_ops ops = new dnnl_post_ops();
      check(dnnl_post_ops_create(ops), "post_ops_create");
      onClose(() -> dnnl_post_ops_destroy(ops));
      switch (s.activation()) {
        case RELU -> check(dnnl_post_ops_append_eltwise(ops, dnnl_eltwise_relu, 0f, 0f),
            "append relu");
        case RELU6 -> check(dnnl_post_ops_append_eltwise(ops, dnnl_eltwise_clip, 0f, 6f),
            "append clip");
        case SIGMOID -> check(dnnl_post_ops_append_eltwise(ops, dnnl_eltwise_logistic, 0f, 0f),
            "append logistic");
        // oneDNN's swish is x * sigmoid(alpha * x).
        case SWISH -> check(dnnl_post_ops_append_eltwise(ops, dnnl_eltwise_swish, 1f, 0f),
            "append swish");
        case GELU -> check(dnnl_post_ops_append_eltwise(ops, dnnl_eltwise_gelu_erf, 0f, 0f),
            "append gelu_erf");
        case TANH -> check(dnnl_post_ops_append_eltwise(ops, dnnl_eltwise_tanh, 0f, 0f),
            "append tanh");
        default -> throw new IllegalArgumentException(s.name() + ": activation "
            + s.activation() + " has no oneDNN post-op here");
      }
      check(dnnl_primitive_attr_set_post_ops(attr, ops), "attr_set_post_ops");
    }

    // The convolution. oneDNN counts dilation from 0 (0 = dense), we from 1.
    long[] strides = {s.strideH(), s.strideW()};
    long[] dilates = {s.dilationH() - 1, s.dilationW() - 1};
    long[] padL = {s.padTop(), s.padLeft()};
    long[] padR = {s.padBottom(), s.padRight()};
    dnnl_primitive_desc pd = new dnnl_primitive_desc();
    int st = dnnl_convolution_forward_primitive_desc_create(pd, engine, dnnl_forward_inference,
        dnnl_convolution_direct, convSrcMd, convWMd, biasMd, convDstMd, strides, dilates, padL,
        padR, attr);
    if (st == dnnl_unimplemented) {
      throw new IllegalArgumentException(s.name() + ": oneDNN has no implementation for " + s
          + " on input " + inputShape + (bestLayout ? " (any layout)" : " (NCHW)"));
    }
    check(st, "convolution_forward_primitive_desc_create for " + s);
    onClose(() -> dnnl_primitive_desc_destroy(pd));
    String impl = queryImplementation(pd);

    // Descriptors owned by pd: valid until pd is destroyed (in close()).
    dnnl_memory_desc pdSrcMd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    dnnl_memory_desc pdWMd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_desc pdDstMd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);

    conv = new dnnl_primitive();
    check(dnnl_primitive_create(conv, pd), "primitive_create (convolution)");
    final dnnl_primitive c = conv;
    onClose(() -> dnnl_primitive_destroy(c));

    // Source: the user's NCHW buffer, reordered into oneDNN's layout when that differs.
    userSrc = buffer(userSrcMd);
    dnnl_memory userSrcMem = memory(userSrcMd, userSrc);
    dnnl_memory convSrcMem = userSrcMem;
    if (dnnl_memory_desc_equal(pdSrcMd, userSrcMd) == 0) {
      convSrcMem = memory(pdSrcMd, buffer(pdSrcMd));
      srcReorder = reorder(userSrcMd, pdSrcMd);
      srcReorderArgs = args(DNNL_ARG_FROM, userSrcMem, DNNL_ARG_TO, convSrcMem);
    }

    // Destination: oneDNN's layout, reordered out into the user's NCHW buffer when that differs.
    userDst = buffer(userDstMd);
    dnnl_memory userDstMem = memory(userDstMd, userDst);
    dnnl_memory convDstMem = userDstMem;
    if (dnnl_memory_desc_equal(pdDstMd, userDstMd) == 0) {
      convDstMem = memory(pdDstMd, buffer(pdDstMd));
      dstReorder = reorder(pdDstMd, userDstMd);
      dstReorderArgs = args(DNNL_ARG_FROM, convDstMem, DNNL_ARG_TO, userDstMem);
    }

    // Weights: reordered into oneDNN's layout once, here.
    FloatPointer userW = buffer(userWMd);
    userW.put(weights, 0, weights.length);
    dnnl_memory userWMem = memory(userWMd, userW);
    dnnl_memory convWMem = userWMem;
    if (dnnl_memory_desc_equal(pdWMd, userWMd) == 0) {
      convWMem = memory(pdWMd, buffer(pdWMd));
      dnnl_primitive wReorder = reorder(userWMd, pdWMd);
      dnnl_exec_arg_t wArgs = args(DNNL_ARG_FROM, userWMem, DNNL_ARG_TO, convWMem);
      check(dnnl_primitive_execute(wReorder, stream, 2, wArgs), "execute (weights reorder)");
      check(dnnl_stream_wait(stream), "stream_wait");
    }

    dnnl_memory biasMem = null;
    if (biasMd != null) {
      FloatPointer b = buffer(biasMd);
      b.put(bias, 0, bias.length);
      biasMem = memory(biasMd, b);
    }

    if (biasMem != null) {
      convArgs = args(DNNL_ARG_SRC, convSrcMem, DNNL_ARG_WEIGHTS, convWMem, DNNL_ARG_BIAS, biasMem,
          DNNL_ARG_DST, convDstMem);
      convArgCount = 4;
    } else {
      convArgs = args(DNNL_ARG_SRC, convSrcMem, DNNL_ARG_WEIGHTS, convWMem, DNNL_ARG_DST,
          convDstMem);
      convArgCount = 3;
    }
    return impl;
  }

  /** Runs the convolution once on the internal buffers and waits (no reorders). */
  public void execute() {
    checkOpen();
    check(dnnl_primitive_execute(conv, stream, convArgCount, convArgs), "execute (convolution)");
    check(dnnl_stream_wait(stream), "stream_wait");
  }

  /**
   * Copies {@code input} (NCHW, n*c*h*w floats) in, reordering it into oneDNN's layout if that
   * differs, runs the convolution and returns the output as NCHW.
   */
  public float[] run(float[] input) {
    checkOpen();
    long need = inputShape.elements();
    if (input == null || input.length != need) {
      throw new IllegalArgumentException(spec.name() + ": expected " + need + " input values ("
          + inputShape + "), got " + (input == null ? "none" : String.valueOf(input.length)));
    }
    userSrc.put(input, 0, input.length);
    if (srcReorder != null) {
      check(dnnl_primitive_execute(srcReorder, stream, 2, srcReorderArgs), "execute (src reorder)");
    }
    check(dnnl_primitive_execute(conv, stream, convArgCount, convArgs), "execute (convolution)");
    if (dstReorder != null) {
      check(dnnl_primitive_execute(dstReorder, stream, 2, dstReorderArgs), "execute (dst reorder)");
    }
    check(dnnl_stream_wait(stream), "stream_wait");
    float[] y = new float[(int) outputShape.elements()];
    userDst.get(y, 0, y.length);
    return y;
  }

  /** oneDNN's implementation name, e.g. "brg_conv_fwd:avx2". */
  public String implementation() {
    return implementation;
  }

  /** Frees every oneDNN object and buffer; idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    Throwable first = null;
    while (!releases.isEmpty()) {
      try {
        releases.pop().run();
      } catch (Throwable t) {
        if (first == null) {
          first = t;
        }
      }
    }
    conv = null;
    srcReorder = null;
    dstReorder = null;
    userSrc = null;
    userDst = null;
    if (first instanceof RuntimeException r) {
      throw r;
    }
    if (first instanceof Error e) {
      throw e;
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("OneDnnConv for " + spec + " is closed");
    }
  }

  private void onClose(Runnable release) {
    releases.push(release);
  }

  private dnnl_memory_desc memoryDesc(long[] dims, int tag) {
    dnnl_memory_desc md = new dnnl_memory_desc();
    check(dnnl_memory_desc_create_with_tag(md, dims.length, dims, dnnl_f32, tag),
        "memory_desc_create_with_tag");
    onClose(() -> dnnl_memory_desc_destroy(md));
    return md;
  }

  /** A zeroed 64-byte-aligned off-heap buffer big enough for {@code md}, freed by close(). */
  private FloatPointer buffer(dnnl_memory_desc md) {
    long bytes = dnnl_memory_desc_get_size(md);
    BytePointer raw = new BytePointer(bytes + ALIGNMENT);
    if (raw.isNull()) {
      throw new OutOfMemoryError("cannot allocate " + bytes + " bytes off-heap for oneDNN");
    }
    onClose(raw::close);
    Pointer.memset(raw, 0, bytes + ALIGNMENT);
    long misalign = raw.address() % ALIGNMENT;
    return new AlignedView(raw.address() + (misalign == 0 ? 0 : ALIGNMENT - misalign), bytes / 4);
  }

  private dnnl_memory memory(dnnl_memory_desc md, Pointer data) {
    dnnl_memory m = new dnnl_memory();
    check(dnnl_memory_create(m, md, engine, data), "memory_create");
    onClose(() -> dnnl_memory_destroy(m));
    return m;
  }

  private dnnl_primitive reorder(dnnl_memory_desc from, dnnl_memory_desc to) {
    dnnl_primitive_desc rpd = new dnnl_primitive_desc();
    check(dnnl_reorder_primitive_desc_create(rpd, from, engine, to, engine, null),
        "reorder_primitive_desc_create");
    dnnl_primitive r = new dnnl_primitive();
    try {
      check(dnnl_primitive_create(r, rpd), "primitive_create (reorder)");
    } finally {
      dnnl_primitive_desc_destroy(rpd); // the primitive keeps its own copy
    }
    onClose(() -> dnnl_primitive_destroy(r));
    return r;
  }

  /** An argument array of (kind, memory) pairs, freed by close(). */
  private dnnl_exec_arg_t args(Object... kindMemory) {
    int n = kindMemory.length / 2;
    dnnl_exec_arg_t a = new dnnl_exec_arg_t(n);
    onClose(a::close);
    for (int i = 0; i < n; i++) {
      a.position(i).arg((Integer) kindMemory[2 * i]).memory((dnnl_memory) kindMemory[2 * i + 1]);
    }
    return a.position(0);
  }

  private static String queryImplementation(dnnl_primitive_desc pd) {
    try (PointerPointer<BytePointer> out = new PointerPointer<>(1)) {
      check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, out), "query impl_info_str");
      Pointer p = out.get(0);
      return p == null || p.isNull() ? "?" : new BytePointer(p).getString();
    }
  }

  private static void check(int status, String what) {
    if (status != dnnl_success) {
      throw new IllegalStateException("oneDNN " + what + " failed with status " + status);
    }
  }

  /** A non-owning float view of aligned memory another pointer owns. */
  private static final class AlignedView extends FloatPointer {
    AlignedView(long address, long count) {
      this.address = address;
      this.capacity = count;
      this.limit = count;
    }
  }
}
