// Prepended to every kernel that ends in an epilogue. The codes are io.convkit.conv.Activation's:
// 0 none, 1 ReLU, 2 ReLU6, 3 sigmoid, 4 swish (x * sigmoid(x)), 5 GELU (the erf form), 6 tanh.
// A run-time
// argument, not a build option: one program serves all of them, and the branch is uniform across
// a launch. The float8 form applies the same scalar definitions per component.

// 1 / (1 + e^-v): exp overflows to +Inf for v < -88.7 and 1 / Inf is 0, never NaN.
inline float ck_sigmoid(float v) {
  return 1.0f / (1.0f + exp(-v));
}

// v * Phi(v), Phi(v) = erfc(-v / sqrt 2) / 2: erfc keeps the negative tail's digits, where
// 1 + erf would subtract nearly equal numbers (GELU(-10) is ~-8e-23, not rounding noise).
inline float ck_gelu(float v) {
  return v * 0.5f * erfc(-v * 0.70710678118654752f);
}

// tanh as the C kernels compute it (PoCL's built-in gives tanh(+Inf) = 0.99999994): for
// |v| >= 0.55 sign(v) (1 - e) / (1 + e), e = e^-2|v| (no cancellation; e = 0 far out gives
// exactly 1), below it the Maclaurin series to v^17 times v (keeps -0 and tiny v exact).
inline float ck_tanh(float v) {
  float a = fabs(v);
  if (a >= 0.55f) {
    float e = exp(-2.0f * a);
    return copysign((1.0f - e) / (1.0f + e), v);
  }
  float v2 = v * v;
  float s = fma(5.900274409e-04f, v2, -1.455834387e-03f);
  s = fma(s, v2, 3.592128036e-03f);
  s = fma(s, v2, -8.863235530e-03f);
  s = fma(s, v2, 2.186948854e-02f);
  s = fma(s, v2, -5.396825397e-02f);
  s = fma(s, v2, 1.333333333e-01f);
  s = fma(s, v2, -3.333333333e-01f);
  s = fma(s, v2, 1.0f);
  return v * s; // NaN fails a >= 0.55 and comes out NaN here
}

// Special values as io.convkit.conv.Activation's table: NaN in gives NaN out. fmax/fmin return
// the other operand when one is NaN, so ReLU and ReLU6 use explicit compares; -0 gives +0
// (not greater than 0), +Inf gives 6 through ReLU6. The exp forms keep NaN and give
// swish(-Inf) = GELU(-Inf) = -Inf * 0 = NaN by IEEE rules, as the C kernels and PyTorch.
inline float ck_relu(float v) {
  return (v > 0.0f || isnan(v)) ? v : 0.0f;
}

inline float ck_relu6(float v) {
  return v > 6.0f ? 6.0f : ck_relu(v);
}

inline float ck_activate(float v, int act) {
  switch (act) {
    case 1: return ck_relu(v);
    case 2: return ck_relu6(v);
    case 3: return ck_sigmoid(v);
    case 4: return v * ck_sigmoid(v);
    case 5: return ck_gelu(v);
    case 6: return ck_tanh(v);
    default: return v;
  }
}

inline float8 ck_activate8(float8 v, int act) {
  switch (act) {
    case 0: return v;
    case 1: return select((float8)(0.0f), v, (v > (float8)(0.0f)) | isnan(v));
    case 2: {
      float8 r = select((float8)(0.0f), v, (v > (float8)(0.0f)) | isnan(v));
      return select(r, (float8)(6.0f), v > (float8)(6.0f));
    }
    case 3: return (float8)(1.0f) / ((float8)(1.0f) + exp(-v));
    case 4: return v / ((float8)(1.0f) + exp(-v));
    case 5: return v * (float8)(0.5f) * erfc(-v * (float8)(0.70710678118654752f));
    default: {
      float8 r;
      r.s0 = ck_tanh(v.s0); r.s1 = ck_tanh(v.s1); r.s2 = ck_tanh(v.s2); r.s3 = ck_tanh(v.s3);
      r.s4 = ck_tanh(v.s4); r.s5 = ck_tanh(v.s5); r.s6 = ck_tanh(v.s6); r.s7 = ck_tanh(v.s7);
      return r;
    }
  }
}
