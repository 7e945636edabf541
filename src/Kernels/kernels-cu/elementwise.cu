// Elementwise kernels: strided copy/convert, fill, unary (+ fused backward), binary, binary with a
// scalar, where. Every kernel takes a Geom by value (operand 0 = the output) and loops grid-stride
// over g.n. The formulas mirror the CPU backend (Engine.Cpu.UnaryKernels / CpuBackend.Elementwise)
// term for term, f32 in float and f64 in double; gelu and erf go through double like the CPU.
// Op codes are the numeric values of Engine.UnaryOp / Engine.BinaryOp.

// ------------------------------------------------------------------ offsets
// Offsets (elements) of linear element i in operands 0..K-1: the index is decomposed once for all
// operands; 32-bit division when the iteration space fits (the common case), dim 0 takes the
// quotient without a division.
template <int K>
__device__ __forceinline__ void ew_offsets(const Geom& g, long long i, long long* off)
{
    if (g.contiguous)
    {
        for (int k = 0; k < K; k++) off[k] = i;
        return;
    }
    for (int k = 0; k < K; k++) off[k] = 0;
    if (g.n <= 0x7fffffffLL)
    {
        unsigned int u = (unsigned int)i;
        for (int d = GEOM_MAX_RANK - 1; d > 0; d--)
        {
            if (d >= g.rank) continue;
            unsigned int s = (unsigned int)g.shape[d];
            unsigned int q = u / s;
            long long r = (long long)(u - q * s);
            for (int k = 0; k < K; k++) off[k] += r * g.strides[k * GEOM_MAX_RANK + d];
            u = q;
        }
        for (int k = 0; k < K; k++) off[k] += (long long)u * g.strides[k * GEOM_MAX_RANK];
    }
    else
    {
        long long u = i;
        for (int d = GEOM_MAX_RANK - 1; d > 0; d--)
        {
            if (d >= g.rank) continue;
            long long s = g.shape[d];
            long long q = u / s;
            long long r = u - q * s;
            for (int k = 0; k < K; k++) off[k] += r * g.strides[k * GEOM_MAX_RANK + d];
            u = q;
        }
        for (int k = 0; k < K; k++) off[k] += u * g.strides[k * GEOM_MAX_RANK];
    }
}

// ------------------------------------------------------------------ math by type
// Plain function names (no fast-math intrinsics), one overload per precision.
__device__ __forceinline__ float m_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double m_abs(double x) { return fabs(x); }
__device__ __forceinline__ float m_exp(float x) { return expf(x); }
__device__ __forceinline__ double m_exp(double x) { return exp(x); }
__device__ __forceinline__ float m_log(float x) { return logf(x); }
__device__ __forceinline__ double m_log(double x) { return log(x); }
__device__ __forceinline__ float m_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double m_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float m_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double m_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float m_sin(float x) { return sinf(x); }
__device__ __forceinline__ double m_sin(double x) { return sin(x); }
__device__ __forceinline__ float m_cos(float x) { return cosf(x); }
__device__ __forceinline__ double m_cos(double x) { return cos(x); }
__device__ __forceinline__ float m_pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double m_pow(double x, double y) { return pow(x, y); }
__device__ __forceinline__ float m_copysign(float x, float y) { return copysignf(x, y); }
__device__ __forceinline__ double m_copysign(double x, double y) { return copysign(x, y); }
// A product that is never fused into an FMA with a following add: where the CPU rounds the product
// before a cancelling subtraction (1 - y*y), a fused form would differ from it by far more than an ulp.
__device__ __forceinline__ float m_mul(float x, float y) { return __fmul_rn(x, y); }
__device__ __forceinline__ double m_mul(double x, double y) { return __dmul_rn(x, y); }

template <typename T> __device__ __forceinline__ bool is_nan(T x) { return x != x; }
// Sign bit set (distinguishes -0 from +0).
template <typename T> __device__ __forceinline__ bool neg_bit(T x) { return m_copysign((T)1, x) < (T)0; }

// float -> int as .NET's int.CreateTruncating / (int) cast: toward zero, saturating, NaN -> 0.
template <typename S> __device__ __forceinline__ int to_i32(S v)
{
    if (is_nan(v)) return 0;
    if (v >= (S)2147483648.0) return 2147483647;
    if (v <= (S)-2147483648.0) return (-2147483647 - 1);
    return (int)v;
}

template <typename D, typename S> struct Conv { __device__ __forceinline__ static D f(S v) { return (D)v; } };
template <> struct Conv<int, float> { __device__ __forceinline__ static int f(float v) { return to_i32(v); } };
template <> struct Conv<int, double> { __device__ __forceinline__ static int f(double v) { return to_i32(v); } };

// IEEE 754-2019 maximum/minimum of non-NaN values (as .NET's T.Max/T.Min): +0 > -0.
template <typename T> __device__ __forceinline__ T ieee_max(T u, T v)
{
    if (u > v) return u;
    if (v > u) return v;
    return neg_bit(u) ? v : u;
}
template <typename T> __device__ __forceinline__ T ieee_min(T u, T v)
{
    if (u < v) return u;
    if (v < u) return v;
    return neg_bit(u) ? u : v;
}

// Compensated log(1 + x) and exp(x) - 1 (Goldberg / Kahan), the CPU's SpecialMath forms.
template <typename T> __device__ __forceinline__ T k_log1p(T x)
{
    T u = (T)1 + x;
    if (u == (T)1) return x;
    if (u > (T)0 && u - u != (T)0) return u; // +inf
    return m_log(u) * (x / (u - (T)1));
}
template <typename T> __device__ __forceinline__ T k_expm1(T x)
{
    T u = m_exp(x);
    if (u == (T)1) return x;
    T um1 = u - (T)1;
    if (um1 == (T)-1) return (T)-1;
    if (u > (T)0 && u - u != (T)0) return u; // +inf
    return um1 * (x / m_log(u));
}

template <typename T> __device__ __forceinline__ T k_sigmoid(T x)
{
    if (x >= (T)0) return (T)1 / ((T)1 + m_exp(-x));
    T e = m_exp(x);
    return e / ((T)1 + e);
}

// Phi(x) = erfc(-x / sqrt 2) / 2 in double (no cancellation for x < 0).
__device__ __forceinline__ double k_phi(double x) { return 0.5 * erfc(-x * 0.70710678118654752440); }

// ------------------------------------------------------------------ unary
// UnaryOp: Neg 0, Abs 1, Exp 2, Log 3, Sqrt 4, Rsqrt 5, Square 6, Sigmoid 7, Tanh 8, Softplus 9,
// Relu 10, LeakyRelu 11, Elu 12, Gelu 13, Clamp 14, PowScalar 15, Sign 16, Reciprocal 17, Sin 18,
// Cos 19, Log1p 20, Expm1 21, Erf 22.
template <typename T, int OP> __device__ __forceinline__ T unary_f(T x, T a, T b)
{
    switch (OP)
    {
        case 0: return -x;
        case 1: return m_abs(x);
        case 2: return m_exp(x);
        case 3: return m_log(x);
        case 4: return m_sqrt(x);
        case 5: return (T)1 / m_sqrt(x);
        case 6: return x * x;
        case 7: return k_sigmoid(x);
        case 8: return m_tanh(x);
        case 9: return (is_nan(x) ? x : x > (T)0 ? x : (T)0) + k_log1p(m_exp(-m_abs(x)));
        case 10: return x < (T)0 ? (T)0 : x;
        case 11: return x > (T)0 ? x : a * x;
        case 12: return x > (T)0 ? x : a * k_expm1(x);
        case 13: { double xd = (double)x; return (T)(xd * k_phi(xd)); }
        case 14: return is_nan(x) ? x : x < a ? a : x > b ? b : x;
        case 15: return a == (T)2 ? x * x : m_pow(x, a);
        case 16: return x > (T)0 ? (T)1 : x < (T)0 ? (T)-1 : x;
        case 17: return (T)1 / x;
        case 18: return m_sin(x);
        case 19: return m_cos(x);
        case 20: return k_log1p(x);
        case 21: return k_expm1(x);
        case 22: return x == (T)0 ? (T)0 : (T)erf((double)x); // +0 for -0, as the CPU's series gives
        default: return x;
    }
}

// d op(x) / dx given x and y = op(x).
template <typename T, int OP> __device__ __forceinline__ T unary_d(T x, T y, T a, T b)
{
    switch (OP)
    {
        case 0: return (T)-1;
        case 1: return x > (T)0 ? (T)1 : x < (T)0 ? (T)-1 : (T)0;
        case 2: return y;
        case 3: return (T)1 / x;
        case 4: return (T)0.5 / y;
        case 5: return (T)-0.5 * y * y * y;
        case 6: return (T)2 * x;
        case 7: return y * ((T)1 - y);
        case 8: return (T)1 - m_mul(y, y);
        case 9: return k_sigmoid(x);
        case 10: return x > (T)0 ? (T)1 : (T)0;
        case 11: return x > (T)0 ? (T)1 : a;
        case 12: return x > (T)0 ? (T)1 : a * m_exp(x);
        case 13: return (T)k_phi((double)x) + m_mul(x * (T)0.39894228040143267794, m_exp((T)-0.5 * x * x));
        case 14: return x >= a && x <= b ? (T)1 : (T)0;
        case 15: return a == (T)0 ? (T)0 : a * m_pow(x, a - (T)1);
        case 16: return (T)0;
        case 17: return -y * y;
        case 18: return m_cos(x);
        case 19: return -m_sin(x);
        case 20: return (T)1 / ((T)1 + x);
        case 21: return y + (T)1;
        case 22: return (T)1.12837916709551257390 * m_exp(-x * x);
        default: return (T)0;
    }
}

template <typename T, int OP> __device__ void unary_loop(T* y, const T* x, const Geom& g, T a, T b)
{
    GRID_STRIDE_LOOP(i, g.n)
    {
        long long o[2];
        ew_offsets<2>(g, i, o);
        y[o[0]] = unary_f<T, OP>(x[o[1]], a, b);
    }
}

template <typename T, int OP> __device__ void unary_backward_loop(T* gx, const T* x, const T* y, const T* gy, const Geom& g, T a, T b)
{
    GRID_STRIDE_LOOP(i, g.n)
    {
        long long o[4];
        ew_offsets<4>(g, i, o);
        gx[o[0]] = gy[o[3]] * unary_d<T, OP>(x[o[1]], y[o[2]], a, b);
    }
}

#define UNARY_CASES(M) \
    M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) \
    M(12) M(13) M(14) M(15) M(16) M(17) M(18) M(19) M(20) M(21) M(22)

template <typename T> __device__ void unary_run(T* y, const T* x, const Geom& g, int op, double alpha, double beta)
{
    T a = (T)alpha, b = (T)beta;
    switch (op)
    {
#define UNARY_CASE(K) case K: unary_loop<T, K>(y, x, g, a, b); break;
        UNARY_CASES(UNARY_CASE)
#undef UNARY_CASE
        default: break;
    }
}

template <typename T> __device__ void unary_backward_run(T* gx, const T* x, const T* y, const T* gy, const Geom& g, int op, double alpha, double beta)
{
    T a = (T)alpha, b = (T)beta;
    switch (op)
    {
#define UNARY_CASE(K) case K: unary_backward_loop<T, K>(gx, x, y, gy, g, a, b); break;
        UNARY_CASES(UNARY_CASE)
#undef UNARY_CASE
        default: break;
    }
}

// y = op(x; alpha, beta). Geom operands: 0 = y, 1 = x.
extern "C" __global__ void unary_f32(float* y, const float* x, Geom g, int op, double alpha, double beta)
{ unary_run<float>(y, x, g, op, alpha, beta); }
extern "C" __global__ void unary_f64(double* y, const double* x, Geom g, int op, double alpha, double beta)
{ unary_run<double>(y, x, g, op, alpha, beta); }

// gx = gy * op'(x). Geom operands: 0 = gx, 1 = x, 2 = y, 3 = gy.
extern "C" __global__ void unary_backward_f32(float* gx, const float* x, const float* y, const float* gy, Geom g, int op, double alpha, double beta)
{ unary_backward_run<float>(gx, x, y, gy, g, op, alpha, beta); }
extern "C" __global__ void unary_backward_f64(double* gx, const double* x, const double* y, const double* gy, Geom g, int op, double alpha, double beta)
{ unary_backward_run<double>(gx, x, y, gy, g, op, alpha, beta); }

// ------------------------------------------------------------------ binary
// BinaryOp: Add 0, Sub 1, Mul 2, Div 3, Pow 4, Maximum 5, Minimum 6, Eq 7, Ne 8, Lt 9, Le 10,
// Gt 11, Ge 12. Comparisons give 1/0 in T; Maximum/Minimum give NaN when either side is NaN.
template <typename T, int OP> __device__ __forceinline__ T binary_f(T u, T v)
{
    switch (OP)
    {
        case 0: return u + v;
        case 1: return u - v;
        case 2: return u * v;
        case 3: return u / v;
        case 4: return m_pow(u, v);
        case 5: return is_nan(u) ? u : is_nan(v) ? v : ieee_max(u, v);
        case 6: return is_nan(u) ? u : is_nan(v) ? v : ieee_min(u, v);
        case 7: return u == v ? (T)1 : (T)0;
        case 8: return u != v ? (T)1 : (T)0;
        case 9: return u < v ? (T)1 : (T)0;
        case 10: return u <= v ? (T)1 : (T)0;
        case 11: return u > v ? (T)1 : (T)0;
        case 12: return u >= v ? (T)1 : (T)0;
        default: return u;
    }
}

#define BINARY_CASES(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12)

template <typename T, int OP> __device__ void binary_loop(T* y, const T* a, const T* b, const Geom& g)
{
    GRID_STRIDE_LOOP(i, g.n)
    {
        long long o[3];
        ew_offsets<3>(g, i, o);
        y[o[0]] = binary_f<T, OP>(a[o[1]], b[o[2]]);
    }
}

template <typename T, int OP, bool FIRST> __device__ void binary_scalar_loop(T* y, const T* a, const Geom& g, T s)
{
    GRID_STRIDE_LOOP(i, g.n)
    {
        long long o[2];
        ew_offsets<2>(g, i, o);
        T v = a[o[1]];
        y[o[0]] = FIRST ? binary_f<T, OP>(s, v) : binary_f<T, OP>(v, s);
    }
}

template <typename T> __device__ void binary_run(T* y, const T* a, const T* b, const Geom& g, int op)
{
    switch (op)
    {
#define BINARY_CASE(K) case K: binary_loop<T, K>(y, a, b, g); break;
        BINARY_CASES(BINARY_CASE)
#undef BINARY_CASE
        default: break;
    }
}

template <typename T> __device__ void binary_scalar_run(T* y, const T* a, const Geom& g, int op, double scalar, int scalar_first)
{
    T s = (T)scalar;
    if (scalar_first)
    {
        switch (op)
        {
#define BINARY_CASE(K) case K: binary_scalar_loop<T, K, true>(y, a, g, s); break;
            BINARY_CASES(BINARY_CASE)
#undef BINARY_CASE
            default: break;
        }
    }
    else
    {
        switch (op)
        {
#define BINARY_CASE(K) case K: binary_scalar_loop<T, K, false>(y, a, g, s); break;
            BINARY_CASES(BINARY_CASE)
#undef BINARY_CASE
            default: break;
        }
    }
}

// y = a op b. Geom operands: 0 = y, 1 = a, 2 = b.
extern "C" __global__ void binary_f32(float* y, const float* a, const float* b, Geom g, int op)
{ binary_run<float>(y, a, b, g, op); }
extern "C" __global__ void binary_f64(double* y, const double* a, const double* b, Geom g, int op)
{ binary_run<double>(y, a, b, g, op); }

// y = scalar_first ? s op a : a op s, s rounded to T. Geom operands: 0 = y, 1 = a.
extern "C" __global__ void binary_scalar_f32(float* y, const float* a, Geom g, int op, double s, int scalar_first)
{ binary_scalar_run<float>(y, a, g, op, s, scalar_first); }
extern "C" __global__ void binary_scalar_f64(double* y, const double* a, Geom g, int op, double s, int scalar_first)
{ binary_scalar_run<double>(y, a, g, op, s, scalar_first); }

// ------------------------------------------------------------------ where
// y = cond != 0 ? a : b, cond of its own dtype. Geom operands: 0 = y, 1 = cond, 2 = a, 3 = b.
template <typename T, typename C> __device__ void where_run(T* y, const C* cond, const T* a, const T* b, const Geom& g)
{
    GRID_STRIDE_LOOP(i, g.n)
    {
        long long o[4];
        ew_offsets<4>(g, i, o);
        y[o[0]] = cond[o[1]] != (C)0 ? a[o[2]] : b[o[3]];
    }
}

#define WHERE_KERNEL(TN, T, CN, C) \
    extern "C" __global__ void where_##TN##_##CN(T* y, const C* cond, const T* a, const T* b, Geom g) \
    { where_run<T, C>(y, cond, a, b, g); }
WHERE_KERNEL(f32, float, f32, float)
WHERE_KERNEL(f32, float, f64, double)
WHERE_KERNEL(f32, float, i32, int)
WHERE_KERNEL(f64, double, f32, float)
WHERE_KERNEL(f64, double, f64, double)
WHERE_KERNEL(f64, double, i32, int)
#undef WHERE_KERNEL

// ------------------------------------------------------------------ copy / convert, fill
// y = convert(x). Geom operands: 0 = y, 1 = x. Named copy_<src>_<dst>.
template <typename S, typename D> __device__ void copy_run(D* y, const S* x, const Geom& g)
{
    GRID_STRIDE_LOOP(i, g.n)
    {
        long long o[2];
        ew_offsets<2>(g, i, o);
        y[o[0]] = Conv<D, S>::f(x[o[1]]);
    }
}

#define COPY_KERNEL(SN, S, DN, D) \
    extern "C" __global__ void copy_##SN##_##DN(D* y, const S* x, Geom g) { copy_run<S, D>(y, x, g); }
COPY_KERNEL(f32, float, f32, float)
COPY_KERNEL(f32, float, f64, double)
COPY_KERNEL(f32, float, i32, int)
COPY_KERNEL(f64, double, f32, float)
COPY_KERNEL(f64, double, f64, double)
COPY_KERNEL(f64, double, i32, int)
COPY_KERNEL(i32, int, f32, float)
COPY_KERNEL(i32, int, f64, double)
COPY_KERNEL(i32, int, i32, int)
#undef COPY_KERNEL

// y = value converted to T (i32: toward zero, saturating). Geom operand 0 = y.
template <typename T> __device__ void fill_run(T* y, const Geom& g, T v)
{
    GRID_STRIDE_LOOP(i, g.n)
    {
        long long o[1];
        ew_offsets<1>(g, i, o);
        y[o[0]] = v;
    }
}

extern "C" __global__ void fill_f32(float* y, Geom g, double value) { fill_run<float>(y, g, (float)value); }
extern "C" __global__ void fill_f64(double* y, Geom g, double value) { fill_run<double>(y, g, value); }
extern "C" __global__ void fill_i32(int* y, Geom g, double value) { fill_run<int>(y, g, to_i32(value)); }
