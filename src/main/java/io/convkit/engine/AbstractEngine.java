package io.convkit.engine;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvWeights;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Layout;
import io.convkit.tensor.Tensor;
import io.convkit.tensor.Uses;
import java.util.List;

/**
 * What every engine does before it computes, in one place: the argument checks of
 * {@link Engine}, then a {@link Uses} scope over every tensor and weight the call touches, held
 * until the engine's {@code run*} method returns. So no engine can be handed memory that another
 * thread frees during the call, or that another thread writes while the call reads it (see
 * {@link io.convkit.tensor.Lifetime}); an engine's own code never acquires anything.
 *
 * <p>An engine whose work outlives its {@code run*} method (queued device work) must only queue
 * work on memory it owns, or wait before returning: the OpenCL engine copies host tensors with
 * blocking transfers, and OpenCL keeps a released device buffer alive until queued commands that
 * use it finish.
 */
public abstract class AbstractEngine implements Engine {
  @Override
  public final void convolve(ConvPlan plan, ConvWeights weights, Tensor x, Tensor y) {
    if (plan == null || weights == null) {
      throw new IllegalArgumentException("convolve: " + (plan == null ? "plan" : "weights")
          + " is null");
    }
    Engine.checkCall(plan, weights, x, y);
    Layout l = convLayout(plan, x, y);
    x = as(x, l);
    y = as(y, l);
    try (Uses u = Uses.begin(plan.spec().name()).hold("weights", weights.lifetime())
        .read("input", x).write("output", y)) {
      // The im2col and direct kernels multiply padded zeros, so a non-finite weight would give
      // NaN where the padded taps contribute nothing (see PaddedBorder); rare, and repaired here.
      float[] border = multipliesPadding() && PaddedBorder.needed(plan, weights) ? x.toArray()
          : null;
      runConvolve(plan, weights, x, y);
      if (border != null) {
        PaddedBorder.repair(plan, weights, border, y);
      }
    }
  }

  @Override
  public final void convolveAdd(ConvPlan plan, ConvWeights weights, Tensor x, Tensor residual,
      Tensor y, Activation act) {
    if (plan == null || weights == null || act == null) {
      throw new IllegalArgumentException("convolve with residual: " + (plan == null ? "plan"
          : weights == null ? "weights" : "activation") + " is null");
    }
    String name = plan.spec().name();
    if (plan.spec().activation() != Activation.NONE) {
      throw new IllegalArgumentException(name + ": a conv fused with a residual add has no "
          + "activation of its own (the add's applies after the sum), got "
          + plan.spec().activation());
    }
    Engine.checkCall(plan, weights, x, y);
    if (residual == null) {
      throw new IllegalArgumentException(name + ": the residual is null");
    }
    checkResidual(name, residual, y);
    Layout l = convLayout(plan, x, residual, y);
    Tensor xl = as(x, l);
    Tensor rl = as(residual, l);
    Tensor yl = as(y, l);
    // Unfused where the engine has no such kernel, and where a non-finite weight needs the
    // padded border repaired (convolve does that; the repair knows nothing of a residual).
    if (!fusesResidual(plan, l) || multipliesPadding() && PaddedBorder.needed(plan, weights)) {
      // In place, the convolution would overwrite the residual first: add a copy of it.
      Tensor saved = rl.sameMemory(yl) ? Tensor.allocate(rl.shape(), this, rl.layout()) : null;
      try {
        if (saved != null) {
          reorder(rl, saved);
        }
        convolve(plan, weights, xl, yl);
        add(yl, saved != null ? saved : rl, yl, act);
      } finally {
        if (saved != null) {
          saved.close();
        }
      }
      return;
    }
    try (Uses u = Uses.begin(name).hold("weights", weights.lifetime()).read("input", xl)
        .read("residual", rl).write("output", yl)) {
      runConvolveAdd(plan, weights, xl, rl, yl, act);
    }
  }

  @Override
  public final void convolveBlock(ConvPlan expand, ConvWeights expandWeights, ConvPlan dw,
      ConvWeights dwWeights, ConvPlan project, ConvWeights projectWeights, Tensor x,
      Tensor residual, Tensor y, Activation act) {
    if (dw == null || dwWeights == null || act == null
        || (expand == null) != (expandWeights == null)
        || (project == null) != (projectWeights == null) || expand == null && project == null) {
      throw new IllegalArgumentException("convolve block: the depthwise plan and weights and the "
          + "activation must not be null, the expand and the project plans each come with their "
          + "weights, and at least one of them is given");
    }
    String name = "block " + (expand == null ? "" : expand.spec().name() + " -> ")
        + dw.spec().name() + (project == null ? "" : " -> " + project.spec().name());
    for (Tensor t : new Tensor[] {x, y}) {
      if (t == null) {
        throw new IllegalArgumentException(name + ": the " + (t == x ? "input" : "output")
            + " is null");
      }
      t.checkOpen();
    }
    ConvPlan first = expand != null ? expand : dw;
    if (!x.shape().equals(first.input())) {
      throw new IllegalArgumentException(name + ": the plans expect input " + first.input()
          + ", got " + x.shape());
    }
    if (expand != null && !expand.output().equals(dw.input())) {
      throw new IllegalArgumentException(name + ": expand writes " + expand.output()
          + ", the depthwise reads " + dw.input());
    }
    if (project != null && !dw.output().equals(project.input())) {
      throw new IllegalArgumentException(name + ": the depthwise writes " + dw.output()
          + ", project reads " + project.input());
    }
    ConvPlan last = project != null ? project : dw;
    if (!y.shape().equals(last.output())) {
      throw new IllegalArgumentException(name + ": the plans expect output " + last.output()
          + ", got " + y.shape());
    }
    if (expand != null && expandWeights.spec() != expand.spec() || dwWeights.spec() != dw.spec()
        || project != null && projectWeights.spec() != project.spec()) {
      throw new IllegalArgumentException(name + ": the weights belong to other specs than the "
          + "plans");
    }
    if (x.sameMemory(y)) {
      throw new IllegalArgumentException(name + ": input and output must share no memory");
    }
    if (residual == null && act != Activation.NONE) {
      throw new IllegalArgumentException(name + ": without a residual the activation is the "
          + "project's own; got " + act);
    }
    if (residual != null && project == null) {
      throw new IllegalArgumentException(name + ": a block without project has no residual");
    }
    if (residual != null) {
      checkResidual(name, residual, y);
      if (residual.sameMemory(y)) {
        throw new IllegalArgumentException(name + ": the residual and the output must not share "
            + "memory");
      }
      if (project.spec().activation() != Activation.NONE) {
        throw new IllegalArgumentException(name + ": with a residual the project conv has no "
            + "activation of its own (act applies after the sum), got "
            + project.spec().activation());
      }
    }
    Layout l = decidedLayout(name, x, residual, y);
    if (l == null) {
      // One-channel ends say nothing: the block's wide inner tensors take the preferred layout.
      l = preferredLayout() == Layout.NHWC && (expand == null || runsNhwc(expand))
          && runsNhwc(dw) && (project == null || runsNhwc(project)) ? Layout.NHWC : Layout.NCHW;
    }
    if (!fusesBlock(expand, dw, project, l) || multipliesPadding()
        && (PaddedBorder.needed(dw, dwWeights)
        || expand != null && PaddedBorder.needed(expand, expandWeights)
        || project != null && PaddedBorder.needed(project, projectWeights))) {
      // One conv after the other through temporary tensors (engines without the kernel).
      Tensor e = expand == null ? null : Tensor.allocate(expand.output(), this, l);
      Tensor d = project == null ? y : Tensor.allocate(dw.output(), this, l);
      try {
        if (e != null) {
          convolve(expand, expandWeights, x, e);
        }
        convolve(dw, dwWeights, e != null ? e : x, d);
        if (project != null && residual == null) {
          convolve(project, projectWeights, d, y);
        } else if (project != null) {
          convolveAdd(project, projectWeights, d, residual, y, act);
        }
      } finally {
        if (e != null) {
          e.close();
        }
        if (d != y) {
          d.close();
        }
      }
      return;
    }
    Tensor xl = as(x, l);
    Tensor rl = as(residual, l);
    Tensor yl = as(y, l);
    try (Uses u = Uses.begin(name)
        .hold("expand weights", expand == null ? null : expandWeights.lifetime())
        .hold("depthwise weights", dwWeights.lifetime())
        .hold("project weights", project == null ? null : projectWeights.lifetime())
        .read("input", xl).read("residual", rl).write("output", yl)) {
      runConvolveBlock(expand, expandWeights, dw, dwWeights, project, projectWeights, xl, rl,
          yl, act);
    }
  }

  /** An open residual of y's shape (y itself, in place, or sharing no memory with it). */
  private static void checkResidual(String name, Tensor residual, Tensor y) {
    residual.checkOpen();
    if (!residual.shape().equals(y.shape())) {
      throw new IllegalArgumentException(name + ": the residual must have the output's shape "
          + y.shape() + ", got " + residual.shape());
    }
  }

  /**
   * {@link #convolveBlock} as one kernel, on checked arguments held for the call; called only
   * where {@link #fusesBlock} says so.
   */
  protected void runConvolveBlock(ConvPlan expand, ConvWeights expandWeights, ConvPlan dw,
      ConvWeights dwWeights, ConvPlan project, ConvWeights projectWeights, Tensor x,
      Tensor residual, Tensor y, Activation act) {
    throw new UnsupportedOperationException(name() + " fuses no block");
  }

  /**
   * {@link #convolveAdd} as one kernel, on checked arguments held for the call; called only
   * where {@link #fusesResidual} says so.
   */
  protected void runConvolveAdd(ConvPlan plan, ConvWeights weights, Tensor x, Tensor residual,
      Tensor y, Activation act) {
    throw new UnsupportedOperationException(name() + " fuses no residual");
  }

  @Override
  public final void pool(PoolSpec spec, Tensor x, Tensor y) {
    Engine.checkPool(spec, x, y);
    Layout l = layout(spec.name(), Op.POOL, x, y);
    x = as(x, l);
    y = as(y, l);
    try (Uses u = Uses.begin(spec.name()).read("input", x).write("output", y)) {
      runPool(spec, x, y);
    }
  }

  @Override
  public final void add(Tensor a, Tensor b, Tensor y, Activation act) {
    Engine.checkAdd(a, b, y, act);
    Layout l = layout("add", Op.ADD, a, b, y);
    a = as(a, l);
    b = as(b, l);
    y = as(y, l);
    try (Uses u = Uses.begin("add").read("first input", a).read("second input", b)
        .write("output", y)) {
      runAdd(a, b, y, act);
    }
  }

  @Override
  public final void lrn(LrnSpec spec, Tensor x, Tensor y) {
    Engine.checkLrn(spec, x, y);
    Layout l = layout("lrn", Op.LRN, x, y);
    x = as(x, l);
    y = as(y, l);
    try (Uses u = Uses.begin("lrn").read("input", x).write("output", y)) {
      runLrn(spec, x, y);
    }
  }

  @Override
  public final void layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor y) {
    Engine.checkLayerNorm(x, gamma, beta, eps, y);
    Layout l = layout("layernorm", Op.LAYER_NORM, x, y);
    x = as(x, l);
    y = as(y, l);
    try (Uses u = Uses.begin("layernorm").read("input", x).read("gamma", gamma)
        .read("beta", beta).write("output", y)) {
      runLayerNorm(x, gamma, beta, eps, y);
    }
  }

  @Override
  public final void concat(List<Tensor> xs, Tensor y) {
    Engine.checkConcat(xs, y);
    List<Tensor> inputs = List.copyOf(xs); // the list the checks passed is the list that runs
    Tensor[] all = inputs.toArray(new Tensor[inputs.size() + 1]);
    all[inputs.size()] = y;
    Layout l = layout("concat", Op.CONCAT, all);
    inputs = inputs.stream().map(t -> as(t, l)).toList();
    y = as(y, l);
    try (Uses u = Uses.begin("concat")) {
      for (int i = 0; i < inputs.size(); i++) {
        u.read("input " + i, inputs.get(i));
      }
      u.write("output", y);
      runConcat(inputs, y);
    }
  }

  @Override
  public final void scaleChannels(Tensor x, Tensor s, Tensor y) {
    Engine.checkScaleChannels(x, s, y);
    Layout l = layout("scale channels", Op.SCALE_CHANNELS, x, y);
    x = as(x, l);
    y = as(y, l);
    try (Uses u = Uses.begin("scale channels").read("input", x).read("scale", s)
        .write("output", y)) {
      runScaleChannels(x, s, y);
    }
  }

  @Override
  public final void reorder(Tensor x, Tensor y) {
    Engine.checkReorder(x, y);
    try (Uses u = Uses.begin("reorder").read("input", x).write("output", y)) {
      if (Layout.sameMemory(x.shape(), x.layout(), y.layout())) {
        copy(x, y);
      } else {
        runReorder(x, y);
      }
    }
  }

  /**
   * The layout a call on {@code ts} runs in: theirs, where they agree (a tensor with one pixel or
   * one channel agrees with either); else an {@link IllegalArgumentException} naming both.
   */
  private static Layout common(String op, Tensor... ts) {
    Layout l = decidedLayout(op, ts);
    return l == null ? Layout.NCHW : l;
  }

  /**
   * The layout of the tensors whose memory order depends on it (all the same, else an
   * {@link IllegalArgumentException}); null where none does (one pixel or one channel each).
   */
  private static Layout decidedLayout(String op, Tensor... ts) {
    Layout l = null;
    Tensor first = null;
    for (Tensor t : ts) {
      if (t == null || Layout.sameMemory(t.shape(), Layout.NCHW, Layout.NHWC)) {
        continue;
      }
      if (l == null) {
        l = t.layout();
        first = t;
      } else if (t.layout() != l) {
        throw new IllegalArgumentException(op + ": tensors in different layouts, " + first
            + " and " + t + "; reorder one of them");
      }
    }
    return l;
  }

  /** {@link #common} for a convolution, refused unless this engine runs {@code plan} in it. */
  private Layout convLayout(ConvPlan plan, Tensor... ts) {
    Layout l = common(plan.spec().name(), ts);
    if (l == Layout.NHWC && !runsNhwc(plan)) {
      throw new IllegalArgumentException(plan.spec().name() + ": " + name() + " runs this "
          + "convolution in NCHW only, got NHWC tensors; reorder them");
    }
    return l;
  }

  /** {@link #common}, and refused unless this engine runs {@code op} in that layout. */
  private Layout layout(String name, Op op, Tensor... ts) {
    Layout l = common(name, ts);
    if (l == Layout.NHWC && !runsNhwc(op)) {
      throw new IllegalArgumentException(name + ": " + name() + " runs it in NCHW only, got "
          + "NHWC tensors; reorder them");
    }
    return l;
  }

  private static Tensor as(Tensor t, Layout l) {
    return t == null || t.layout() == l ? t : t.asLayout(l);
  }

  /** {@link #reorder} between layouts that order the elements the same way: a plain copy. */
  protected void copy(Tensor x, Tensor y) {
    float[] raw = new float[x.elements()];
    x.copyRawTo(raw);
    y.copyRawFrom(raw);
  }

  /**
   * {@link #reorder}, on checked arguments held for the call, between layouts that differ. This
   * default goes through host arrays; engines with their own kernel override it.
   */
  protected void runReorder(Tensor x, Tensor y) {
    y.copyFrom(x.toArray());
  }

  /**
   * True when this engine's convolution kernels multiply materialised padding zeros (im2col,
   * zero rows), so {@link #convolve} repairs the border of non-finite weights; an engine whose
   * loops skip padded taps says false.
   */
  protected boolean multipliesPadding() {
    return true;
  }

  /** {@link #convolve}, on checked arguments held for the call. */
  protected abstract void runConvolve(ConvPlan plan, ConvWeights weights, Tensor x, Tensor y);

  /** {@link #pool}, on checked arguments held for the call. */
  protected abstract void runPool(PoolSpec spec, Tensor x, Tensor y);

  /** {@link #add}, on checked arguments held for the call. */
  protected abstract void runAdd(Tensor a, Tensor b, Tensor y, Activation act);

  /** {@link #lrn}, on checked arguments held for the call. */
  protected abstract void runLrn(LrnSpec spec, Tensor x, Tensor y);

  /** {@link #layerNorm}, on checked arguments held for the call. */
  protected abstract void runLayerNorm(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor y);

  /** {@link #concat}, on checked arguments held for the call. */
  protected abstract void runConcat(List<Tensor> xs, Tensor y);

  /** {@link #scaleChannels}, on checked arguments held for the call. */
  protected abstract void runScaleChannels(Tensor x, Tensor s, Tensor y);
}
