package io.convkit.bench;

import io.convkit.bench.LayerSuite.Layer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH: one suite layer on one engine per fork, with the same setup as {@link LayerBench}
 * ({@link LayerBench#open}): "convkit" is our CPU engine through {@code Conv2d.forwardInto},
 * "gemm" the GEMM-only ceiling, "onednn" oneDNN with its best layouts.
 *
 * <pre>
 * OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 java -cp "target/test-classes:target/classes:$(cat target/cp.txt)" \
 *     org.openjdk.jmh.Main ConvLayerBenchmark -p layer=vgg16_conv3_2 -p engine=convkit
 * </pre>
 *
 * <p>Threads: {@code -p threads=T}; the default 0 means {@code OMP_NUM_THREADS} if set, else all
 * cores. oneDNN always runs on {@code OMP_NUM_THREADS} threads (fixed when the JVM starts; the
 * forks inherit the environment), so set that variable to the thread count being compared.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx4g", "-XX:+UseParallelGC"})
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class ConvLayerBenchmark {
  /** A layer of bench/layers.csv; these are the suite's names (any suite name is accepted). */
  @Param({"lenet5_c1", "alexnet_conv1", "alexnet_conv2_g2", "zfnet_conv1", "vgg16_conv1_2",
      "vgg16_conv3_2", "vgg16_conv5_1", "inception3a_3x3", "resnet50_conv1",
      "resnet50_res2_expand", "resnet50_res3_3x3", "resnet50_res4_reduce", "resnext50_res2_g32",
      "mobilenet_v1_dw2", "mobilenet_v1_dw13", "mobilenet_v1_pw1", "mobilenet_v1_pw13",
      "mobilenet_v2_expand", "mobilenet_v2_dw", "mobilenet_v2_project", "dilated_3x3_d2",
      "vgg16_conv3_2_b8"})
  public String layer;

  @Param({LayerBench.CONVKIT, LayerBench.GEMM, LayerBench.ONEDNN, LayerBench.OPENCL})
  public String engine;

  /** Threads for our engine and OpenBLAS; 0: OMP_NUM_THREADS if set, else all cores. */
  @Param({"0"})
  public int threads;

  private LayerBench.Subject subject;

  @Setup(Level.Trial)
  public void setUp() {
    Layer l = LayerSuite.byName(layer);
    int t = threads > 0 ? threads : LayerBench.jvmThreads();
    if (LayerBench.ONEDNN.equals(engine) && t != LayerBench.jvmThreads()) {
      System.err.println("warning: oneDNN runs on OMP_NUM_THREADS=" + System.getenv("OMP_NUM_THREADS")
          + " threads, not " + t);
    }
    subject = LayerBench.open(engine, l, t);
    System.out.println(System.lineSeparator() + "# " + layer + " on " + engine + " (" + t + " threads): "
        + subject.implementation() + ", " + l.spec().macs(l.input()) * 2 / 1e9 + " GFLOP per call");
  }

  @Benchmark
  public void forward() {
    subject.call();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (subject != null) {
      subject.close();
      subject = null;
    }
  }
}
