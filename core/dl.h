/*
 * dl.h -- the dlrepl numeric core: float32 tensors in plain C11.
 *
 * This is the one public header of the core. It knows nothing of Lua; the
 * bindings in bindings/ call these functions and wrap what they return.
 *
 * Tensors
 *   A dl_tensor is a view: a shape and strides (in elements, up to 8 dims,
 *   0 dims for a scalar) over a refcounted dl_storage. Views (transpose,
 *   narrow, select, reshape of a contiguous tensor...) share the storage of
 *   their source; writing through one is seen by the other. Every tensor is
 *   itself refcounted: dl_retain / dl_release. A function that returns a new
 *   tensor through `dl_tensor **out` hands the caller one reference.
 *
 * Errors
 *   The core never aborts or longjmps on a user error. Every fallible
 *   function returns a dl_status; on failure it writes nothing to *out and
 *   leaves a message, readable with dl_error(), that names the function, the
 *   argument, what was expected and what was given:
 *       bad argument #2 to 'matmul' (expected shape (784, *), got (785, 10))
 *   Arguments are validated before anything is allocated or mutated.
 *
 * Conventions
 *   Dimension numbers and positions passed as C arguments are 0-based.
 *   Tensors whose *contents* are positions (argmax results, index_select
 *   indices) hold 1-based positions: they are data users see, and users see
 *   Lua's convention. Argument numbers in messages count as the Lua user
 *   writes the call (`dl.matmul(a, b)`: a is #1).
 *
 * Autodiff
 *   Define-by-run, as in PyTorch. While grad mode is on, every
 *   differentiable operation with an input that requires grad records a node
 *   (its inputs, what its backward rule needs, a sequence number) in the
 *   output's grad_fn. dl_backward() visits the reachable nodes in descending
 *   sequence order, applies each node's local rule, accumulates into the
 *   leaves' `grad`, and frees the graph. Every in-place change bumps the
 *   storage's version; a backward rule whose saved tensor changed refuses to
 *   run rather than compute a wrong gradient.
 *
 * Interruption
 *   Long loops poll dl_interrupted() between chunks and return
 *   DL_ERR_INTERRUPTED, so a Ctrl-C handler only has to call
 *   dl_request_interrupt(), which is async-signal-safe.
 */
#ifndef DL_H
#define DL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DL_VERSION "0.1.0"
#define DL_MAX_DIM 8

typedef enum {
    DL_OK = 0,
    DL_ERR_ARGUMENT,    /* a bad value or type: a dim out of range, a NaN size */
    DL_ERR_SHAPE,       /* shapes that do not fit together */
    DL_ERR_MEMORY,      /* an allocation failed or the size is absurd */
    DL_ERR_INTERRUPTED, /* dl_request_interrupt() was called while running */
    DL_ERR_IO           /* a file could not be read or written */
} dl_status;

/* Shared, refcounted float32 buffer. `data` is 64-byte aligned. */
typedef struct dl_storage {
    float *data;
    int64_t numel;     /* number of floats in data */
    int refcount;
    uint32_t version;  /* bumped by every in-place change */
} dl_storage;

typedef struct dl_node dl_node;    /* a recorded operation (autograd.h) */

typedef struct dl_tensor {
    int refcount;
    int ndim;                      /* 0 (scalar) .. DL_MAX_DIM */
    int64_t shape[DL_MAX_DIM];
    int64_t stride[DL_MAX_DIM];    /* in elements; 0 for a broadcast dim */
    int64_t offset;                /* first element, in elements */
    dl_storage *storage;
    bool requires_grad;            /* gradients flow to or through this tensor */
    bool graph_freed;              /* made by an op whose graph backward freed */
    struct dl_tensor *grad;        /* accumulated dL/dthis (leaves), or NULL */
    dl_node *grad_fn;              /* the op that made this tensor, or NULL (a leaf) */
} dl_tensor;

/* ---- errors ------------------------------------------------------------ */

/* Message of the last failure in this thread ("" when none). */
const char *dl_error(void);

/* Records a printf-style message and returns `status` (for core and io code). */
dl_status dl_fail(dl_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- lifetime and memory ----------------------------------------------- */

/* Adds one reference. NULL is ignored. */
void dl_retain(dl_tensor *t);

/* Drops one reference; frees the tensor, and its storage when no view is
 * left. NULL is ignored. */
void dl_release(dl_tensor *t);

/* Bytes of tensor data currently alive (what the Lua GC is told about). */
size_t dl_memory_in_use(void);

/* Bytes kept in the size-keyed buffer cache for reuse (at most the live
 * bytes, between 64 MiB and min(1 GiB, RAM / 8); see memory.c). */
size_t dl_memory_cached(void);

/* The most bytes of tensor data alive at once, since the start or the last
 * dl_memory_reset_peak(). */
size_t dl_memory_peak(void);
void dl_memory_reset_peak(void);

/* Returns every cached buffer to the system (and malloc's free pages). */
void dl_cache_clear(void);

/* ---- machine ----------------------------------------------------------- */

/* Asks running loops to stop at their next check, and returns true: the
 * caller (a Ctrl-C handler) should stop the running code too. While
 * interrupts are deferred, the first request is only noted, for code that
 * polls dl_take_deferred_interrupt() at a safe point (fit after a batch),
 * and it returns false; a second one stops as usual. Async-signal-safe. */
bool dl_request_interrupt(void);

/* Forgets a pending interrupt request, deferred or not (call before
 * running user code). */
void dl_clear_interrupt(void);

/* Starts (on) or ends (off) a stretch of code that polls for interrupts
 * itself; stretches nest. Ending the outermost forgets a noted request. */
void dl_defer_interrupts(bool on);

/* True, once, when a request was noted while interrupts were deferred. */
bool dl_take_deferred_interrupt(void);

/* True when an interrupt was requested and not yet cleared. */
bool dl_interrupted(void);

/* Sets the thread count for OpenBLAS and the OpenMP loops (n >= 1). */
void dl_set_threads(int n);

/* Current thread count. */
int dl_get_threads(void);

/* The most threads dl_set_threads can give (OpenBLAS and OpenMP limits,
 * at most 4096). */
int dl_max_threads(void);

/* One line naming the BLAS library and its configuration. */
const char *dl_blas_info(void);

/* The version of the hot loops in use: "native" for a -march=native build,
 * else the processor level the portable build chose at load time
 * ("x86-64-v4 (AVX-512)", "x86-64-v3 (AVX2)" or "x86-64-v2"). */
const char *dl_kernel_set(void);

/* Monotonic wall-clock time in seconds. */
double dl_clock(void);

/* ---- random numbers ---------------------------------------------------- */

/* Reseeds the generator used by every random draw of the core. */
void dl_manual_seed(uint64_t seed);

/* Next 32 random bits. */
uint32_t dl_random_u32(void);

/* Uniform draw in [0, 1). */
float dl_random_uniform(void);

/* Standard normal draw. */
float dl_random_normal(void);

/* ---- creation ----------------------------------------------------------- *
 * `shape` holds `ndim` sizes (0 <= ndim <= DL_MAX_DIM, sizes >= 0); the
 * result is contiguous. Errors: DL_ERR_ARGUMENT for a bad shape, DL_ERR_MEMORY
 * for a size that cannot be allocated. `fn` names the caller in messages. */

/* Uninitialised tensor. */
dl_status dl_empty(const char *fn, int ndim, const int64_t *shape, dl_tensor **out);

/* Tensor filled with `value` (zeros, ones, full). */
dl_status dl_full(const char *fn, int ndim, const int64_t *shape, float value,
                  dl_tensor **out);

/* Uniform [0,1) draws. */
dl_status dl_rand(int ndim, const int64_t *shape, dl_tensor **out);

/* Standard normal draws. */
dl_status dl_randn(int ndim, const int64_t *shape, dl_tensor **out);

/* Tensor holding a copy of `values` (numel floats, row-major). */
dl_status dl_from_floats(int ndim, const int64_t *shape, const float *values,
                         dl_tensor **out);

/* start, start+step, ... up to but excluding end (as torch.arange). */
dl_status dl_arange(double start, double end, double step, dl_tensor **out);

/* `steps` evenly spaced values from start to end inclusive. */
dl_status dl_linspace(double start, double end, int64_t steps, dl_tensor **out);

/* n x m matrix with ones on the diagonal. */
dl_status dl_eye(int64_t n, int64_t m, dl_tensor **out);

/* A random permutation of 1..n as a 1-D tensor (1-based positions). */
dl_status dl_randperm(int64_t n, dl_tensor **out);

/* ---- inspection and copying -------------------------------------------- */

/* Number of elements (1 for a scalar). */
int64_t dl_numel(const dl_tensor *t);

/* True when the elements are laid out row-major without gaps. */
bool dl_is_contiguous(const dl_tensor *t);

/* Pointer to the tensor's first element. */
float *dl_data(const dl_tensor *t);

/* Element at a 0-based multi-index (ndim entries); no bounds check. */
float dl_get(const dl_tensor *t, const int64_t *index);

/* The single value of a one-element tensor. Error: more than one element. */
dl_status dl_item(const dl_tensor *t, float *value);

/* Writes "(2, 3)" into buf (always terminated). */
void dl_shape_string(const dl_tensor *t, char *buf, size_t size);

/* `t` itself (one more reference) if contiguous, else a contiguous copy. */
dl_status dl_contiguous(const dl_tensor *t, dl_tensor **out);

/* A contiguous copy that shares nothing with `t`. */
dl_status dl_clone(const dl_tensor *t, dl_tensor **out);

/* As dl_clone and dl_contiguous, but recorded for autodiff when t requires
 * grad (the user's t:clone() and t:contiguous()): the gradient passes back
 * to t. The plain forms above are for the core's own scratch copies. */
dl_status dl_clone_recorded(const dl_tensor *t, dl_tensor **out);
dl_status dl_contiguous_recorded(const dl_tensor *t, dl_tensor **out);

/* ---- in-place writes ---------------------------------------------------- *
 * Every change of an existing tensor's elements goes through these (core/
 * inplace.c). Each first checks dl_check_inplace (errors name the method:
 * 'copy_', 'fill_', '__newindex', 'uniform_', 'normal_') and afterwards
 * bumps the storage's version, so that a backward that saved the tensor
 * refuses to run. None is recorded for autodiff. */

/* Copies `src` (broadcast to dst's shape) into dst. */
dl_status dl_copy_(dl_tensor *dst, const dl_tensor *src);

/* Sets every element of t to value. */
dl_status dl_fill_(dl_tensor *t, float value);

/* t[index] = src or value: row `index` (0-based) along dim 0, an element
 * of a 1-D tensor, gets src broadcast to it, or value when src is NULL. */
dl_status dl_set_row_(dl_tensor *t, int64_t index, const dl_tensor *src, float value);

/* Fills t, element by element in row-major order, with draws from
 * U(lo, hi) or N(mean, std^2) (initialisation). */
dl_status dl_uniform_(dl_tensor *t, float lo, float hi);
dl_status dl_normal_(dl_tensor *t, float mean, float std);

/* Error unless t may be changed in place by `fn`: not while it requires
 * grad and grad mode is on, and never an expanded view (a dim of stride 0
 * would write one element many times). */
dl_status dl_check_inplace(const char *fn, const dl_tensor *t);

/* Records an in-place change of t's data (after writing). */
void dl_bump_version(dl_tensor *t);

/* Renders t as text the way PyTorch prints: values aligned in columns, long
 * dimensions elided with "...", and a last line giving the shape and the
 * grad flag. Returns a malloc'd string (NULL when out of memory). */
char *dl_format(const dl_tensor *t);

/* ---- elementwise operations -------------------------------------------- *
 * Binary operations broadcast as NumPy and PyTorch do (sizes aligned from
 * the right; a size of 1 stretches). Comparisons give 0/1 tensors. */

typedef enum {
#define DL_BINARY(id, name, expr, grad_a, grad_b) DL_##id,
#include "ops.def"
    DL_BINARY_COUNT
} dl_binary_op;

typedef enum {
#define DL_UNARY(id, name, expr, grad) DL_##id,
#include "ops.def"
    DL_UNARY_COUNT
} dl_unary_op;

/* Lower-case name of an operation, as users call it ("add", "exp"). */
const char *dl_binary_name(dl_binary_op op);
const char *dl_unary_name(dl_unary_op op);

/* Shape two tensors broadcast to; error names `fn`. */
dl_status dl_broadcast_shape(const char *fn, const dl_tensor *a, const dl_tensor *b,
                             int *ndim, int64_t *shape);

/* out = a op b, broadcasting. */
dl_status dl_binary(dl_binary_op op, const dl_tensor *a, const dl_tensor *b,
                    dl_tensor **out);

/* out = a op s, or s op a when scalar_first. */
dl_status dl_binary_scalar(dl_binary_op op, const dl_tensor *a, float s,
                           bool scalar_first, dl_tensor **out);

/* out = f(a) elementwise (a DL_UNARY_P op with its default parameters). */
dl_status dl_unary(dl_unary_op op, const dl_tensor *a, dl_tensor **out);

/* out = f(a; p, q) for a DL_UNARY_P op of ops.def (leaky_relu's slope,
 * hardtanh's bounds...); other ops ignore p and q. Error: hardtanh with
 * p > q. */
dl_status dl_unary_with(dl_unary_op op, const dl_tensor *a, float p, float q, dl_tensor **out);

/* Name of parameter i (0: p, 1: q) of a DL_UNARY_P op as users pass it in
 * an options table ("negative_slope"), or NULL when the op has none; and
 * its default (PyTorch's). */
const char *dl_unary_param_name(dl_unary_op op, int i);
float dl_unary_param_default(dl_unary_op op, int i);

/* out = min(max(a, lo), hi); lo may be -INFINITY, hi INFINITY. A NaN bound
 * makes every result NaN (with gradient 0), as in PyTorch. */
dl_status dl_clamp(const dl_tensor *a, float lo, float hi, dl_tensor **out);

/* Softmax / log-softmax along dim (0-based), numerically stable. */
dl_status dl_softmax(const dl_tensor *a, int dim, dl_tensor **out);
dl_status dl_log_softmax(const dl_tensor *a, int dim, dl_tensor **out);

/* ---- reductions -------------------------------------------------------- */

typedef enum {
    DL_SUM, DL_MEAN, DL_PROD, DL_MAX, DL_MIN, DL_ARGMAX, DL_ARGMIN, DL_VAR, DL_STD
} dl_reduce_op;

/* Lower-case name of a reduction ("sum"). */
const char *dl_reduce_name(dl_reduce_op op);

/* Reduces along `dim` (0-based), or over every element when dim < 0 (the
 * result is then a scalar, or all-ones dims with keepdim). ARGMAX/ARGMIN
 * give 1-based positions (the first one on ties; over all elements, the
 * position in row-major order). VAR/STD divide by n - correction (1 is
 * PyTorch's unbiased default). Sums accumulate in double. */
dl_status dl_reduce(dl_reduce_op op, const dl_tensor *a, int dim, bool keepdim,
                    int correction, dl_tensor **out);

/* ---- shape and indexing ------------------------------------------------- *
 * Functions marked "view" share storage with `a`. */

/* Same elements in a new shape; one size may be -1 (inferred). A view when
 * `a`'s layout allows it, else a copy (as torch.reshape). */
dl_status dl_reshape(const char *fn, const dl_tensor *a, int ndim, const int64_t *shape,
                     dl_tensor **out);

/* As reshape, but only as a view; error when the layout does not allow it. */
dl_status dl_view(const dl_tensor *a, int ndim, const int64_t *shape, dl_tensor **out);

/* View with dims d1 and d2 swapped. */
dl_status dl_transpose(const dl_tensor *a, int d1, int d2, dl_tensor **out);

/* View with dims reordered: result dim i is a's dim perm[i]. */
dl_status dl_permute(const dl_tensor *a, const int *perm, dl_tensor **out);

/* Dims start..end (inclusive) merged into one (reshape semantics). */
dl_status dl_flatten(const dl_tensor *a, int start, int end, dl_tensor **out);

/* View with a size-1 dim inserted at position dim (0..ndim). */
dl_status dl_unsqueeze(const dl_tensor *a, int dim, dl_tensor **out);

/* View without size-1 dim `dim`, or without all size-1 dims when dim < 0.
 * Squeezing a dim whose size is not 1 leaves the tensor as it is (PyTorch). */
dl_status dl_squeeze(const dl_tensor *a, int dim, dl_tensor **out);

/* View of `length` entries of dim from 0-based `start`. */
dl_status dl_narrow(const dl_tensor *a, int dim, int64_t start, int64_t length,
                    dl_tensor **out);

/* View of entry `index` (0-based) of dim, which disappears. */
dl_status dl_select(const dl_tensor *a, int dim, int64_t index, dl_tensor **out);

/* View with size-1 dims stretched (stride 0) to `shape` (ndim >= a's). */
dl_status dl_expand(const dl_tensor *a, int ndim, const int64_t *shape, dl_tensor **out);

/* Joins n tensors along an existing dim (cat) or a new one (stack). */
dl_status dl_cat(int n, const dl_tensor *const *ts, int dim, dl_tensor **out);
dl_status dl_stack(int n, const dl_tensor *const *ts, int dim, dl_tensor **out);

/* Entries of dim picked by a 1-D tensor of 1-based positions. */
dl_status dl_index_select(const dl_tensor *a, int dim, const dl_tensor *index,
                          dl_tensor **out);

/* ---- indexing, rearranging, scans, sorting ------------------------------ *
 * PyTorch's semantics; dims are 0-based C arguments, positions inside
 * index tensors 1-based. All differentiable (positions never are). */

/* out[m] = a[m with m[dim] = index[m]]: index has a's number of dims and is
 * no larger than a outside dim; out has index's shape (index_ops.c). */
dl_status dl_gather(const dl_tensor *a, int dim, const dl_tensor *index, dl_tensor **out);

/* A copy of a with src[m] (or `value` when src is NULL) written at
 * a[m with m[dim] = index[m]] for every position m of index, or added there
 * when `add` (scatter_add). index is no larger than src, nor than a
 * outside dim. */
dl_status dl_scatter(const dl_tensor *a, int dim, const dl_tensor *index, const dl_tensor *src,
                     float value, bool add, dl_tensor **out);

/* a where cond is nonzero, else b; the three broadcast together. */
dl_status dl_where(const dl_tensor *cond, const dl_tensor *a, const dl_tensor *b,
                   dl_tensor **out);

/* a with `value` where mask (broadcast to a's shape) is nonzero. */
dl_status dl_masked_fill(const dl_tensor *a, const dl_tensor *mask, float value,
                         dl_tensor **out);

/* a reversed along each of the n dims (remap.c). */
dl_status dl_flip(const dl_tensor *a, int n, const int *dims, dl_tensor **out);

/* a rolled by shifts[i] along dims[i] (elements leaving one end come back
 * at the other); dims NULL: rolled by shifts[0] as a flat sequence. */
dl_status dl_roll(const dl_tensor *a, int n, const int64_t *shifts, const int *dims,
                  dl_tensor **out);

/* a tiled repeats[d] times along each dim (n >= a's dims; extra leading
 * counts add dims), as torch.Tensor.repeat. */
dl_status dl_repeat(const dl_tensor *a, int n, const int64_t *repeats, dl_tensor **out);

/* The lower (tril) or upper (triu) triangle of the matrices in a's last two
 * dims, from diagonal k (0 the main one, k > 0 above it); the rest zeros. */
dl_status dl_tril(const dl_tensor *a, int64_t k, dl_tensor **out);
dl_status dl_triu(const dl_tensor *a, int64_t k, dl_tensor **out);

/* 1-D a: a square matrix with a on diagonal k; 2-D a: its diagonal k. */
dl_status dl_diag(const dl_tensor *a, int64_t k, dl_tensor **out);

/* Running sum / product along dim (scan.c). */
dl_status dl_cumsum(const dl_tensor *a, int dim, dl_tensor **out);
dl_status dl_cumprod(const dl_tensor *a, int dim, dl_tensor **out);

/* Sorted values along dim and their 1-based positions in a. Stable: equal
 * values keep their order; NaN counts as the largest (sort.c). */
dl_status dl_sort(const dl_tensor *a, int dim, bool descending, dl_tensor **values,
                  dl_tensor **indices);

/* The k largest (or smallest) values along dim and their positions,
 * sorted; among equal values the first positions come first. */
dl_status dl_topk(const dl_tensor *a, int64_t k, int dim, bool largest, dl_tensor **values,
                  dl_tensor **indices);

/* The lower median along dim and its position (the middle one in stable
 * sorted order); dim < 0: of every element, with no position, and the
 * gradient shared by the elements equal to it. */
dl_status dl_median(const dl_tensor *a, int dim, bool keepdim, dl_tensor **values,
                    dl_tensor **indices);

/* ---- more reductions (reduce_more.c) ------------------------------------- *
 * Along dim, or over every element when dim < 0, as dl_reduce. */

/* log(sum(exp(a))), computed stably. */
dl_status dl_logsumexp(const dl_tensor *a, int dim, bool keepdim, dl_tensor **out);

/* The largest (amax) or smallest (amin) value; the gradient is shared
 * evenly by the elements equal to it. */
dl_status dl_amax(const dl_tensor *a, int dim, bool keepdim, bool largest, dl_tensor **out);

/* 1 where every (all) or some (any) element is nonzero, else 0; over no
 * elements all is 1 and any 0. Not differentiable. */
dl_status dl_all_any(const dl_tensor *a, int dim, bool keepdim, bool all, dl_tensor **out);

/* The p-norm (sum |a|^p)^(1/p); p = INFINITY the largest |a|, -INFINITY
 * the smallest, 0 the count of nonzeros. The gradient at a zero norm
 * (or a zero element when p < 1) is 0, as in PyTorch. */
dl_status dl_norm(const dl_tensor *a, double p, int dim, bool keepdim, dl_tensor **out);

/* ---- autodiff ----------------------------------------------------------- */

/* Whether operations record the graph (on by default). */
bool dl_grad_enabled(void);

/* Turns recording on or off; returns the previous setting (for no_grad). */
bool dl_set_grad_enabled(bool enabled);

/* Backpropagates from `root`: with grad NULL, root must hold one element
 * (a scalar loss) and dL/droot = 1; otherwise grad has root's shape.
 * Leaves that require grad get dL/dleaf added to their `grad`. The graph
 * is freed afterwards. Errors: root does not require grad, its graph was
 * already freed, a non-scalar root without grad, or a tensor saved for
 * backward that was changed in place. */
dl_status dl_backward(dl_tensor *root, const dl_tensor *grad);

/* Sets or clears requires_grad. Error: clearing it on a tensor computed
 * from others (use dl_detach). */
dl_status dl_set_requires_grad(dl_tensor *t, bool requires_grad);

/* A view of t's data that is cut off from the graph (a leaf, no grad). */
dl_status dl_detach(const dl_tensor *t, dl_tensor **out);

/* Name of the operation that made t ("matmul"), or NULL for a leaf. */
const char *dl_grad_fn_name(const dl_tensor *t);

/* Input i (0-based) of the operation that made t, or NULL past the last
 * one or for a leaf (for showing the graph; the reference stays t's). */
dl_tensor *dl_grad_fn_input(const dl_tensor *t, int i);

/* Drops t's accumulated gradient. */
void dl_zero_grad(dl_tensor *t);

/* True unless t was computed by a recorded operation (whose graph a
 * backward may since have freed). */
bool dl_is_leaf(const dl_tensor *t);


/* ---- linear algebra ----------------------------------------------------- */

/* Matrix product with torch.matmul's rules: 1-D x 1-D (dot, a scalar),
 * 2-D x 2-D, 1-D/2-D mixes, and batched products whose leading (batch)
 * dims broadcast. Transposed
 * views go to cblas_sgemm as transpose flags, not copies. */
dl_status dl_matmul(const dl_tensor *a, const dl_tensor *b, dl_tensor **out);

/* ---- neural-network operations ------------------------------------------ *
 * Differentiable like every op above; forward and backward kernels in C.
 * Images are N x C x H x W. Class labels are 1-based floats. */

typedef enum { DL_REDUCE_MEAN, DL_REDUCE_SUM, DL_REDUCE_NONE } dl_reduction;

/* y = x W^T + b: x (*, in), weight (out, in), bias (out) or NULL -> (*, out). */
dl_status dl_linear(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                    dl_tensor **out);

/* 2-D convolution: x (N, C, H, W), weight (O, C, kh, kw), bias (O) or NULL,
 * stride and zero padding per axis -> (N, O, H', W'). */
dl_status dl_conv2d(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                    const int stride[2], const int padding[2], dl_tensor **out);

typedef struct {
    int stride[2];
    int padding[4];            /* top, bottom, left, right */
    int dilation[2];
    int groups;                /* divides the input and the output channels */
} dl_conv2d_options;

/* 2-D convolution with PyTorch's options (conv_general.c): x (N, C, H, W),
 * weight (O, C/groups, kh, kw), bias (O) or NULL. Dilation, groups and
 * uneven padding run by im2col per group; the plain case by dl_conv2d. */
dl_status dl_conv2d_with(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                         const dl_conv2d_options *options, dl_tensor **out);

typedef enum { DL_PAD_CONSTANT, DL_PAD_REFLECT, DL_PAD_REPLICATE, DL_PAD_CIRCULAR } dl_pad_mode;

/* Pads the last dim (npad 2: {left, right}) or the last two (npad 4:
 * {left, right, top, bottom}) of x, as PyTorch's F.pad (pad.c): with
 * `value`, or by reflecting (pads < size), replicating or wrapping
 * (pads <= size) the edges. */
dl_status dl_pad(const dl_tensor *x, int npad, const int *pad, dl_pad_mode mode, float value,
                 dl_tensor **out);

/* Max / average pooling over kernel windows of x (N, C, H, W). Average
 * pooling counts the zero padding (PyTorch's count_include_pad). */
dl_status dl_max_pool2d(const dl_tensor *x, const int kernel[2], const int stride[2],
                        const int padding[2], dl_tensor **out);
dl_status dl_avg_pool2d(const dl_tensor *x, const int kernel[2], const int stride[2],
                        const int padding[2], dl_tensor **out);

typedef struct {
    int kernel[2], stride[2], padding[2];
    bool ceil_mode;            /* round the output size up (a window may hang over) */
    bool count_include_pad;    /* average pooling divides by the padded window */
} dl_pool2d_options;

/* Max / average pooling with PyTorch's ceil_mode and count_include_pad
 * (pool_windows.c); the default case runs dl_max_pool2d / dl_avg_pool2d. */
dl_status dl_max_pool2d_with(const dl_tensor *x, const dl_pool2d_options *options, dl_tensor **out);
dl_status dl_avg_pool2d_with(const dl_tensor *x, const dl_pool2d_options *options, dl_tensor **out);

/* Adaptive pooling of x (N, C, H, W) to (N, C, size[0], size[1]): output
 * (i, j) pools rows floor(i H / h) .. ceil((i + 1) H / h) - 1, and likewise
 * columns. */
dl_status dl_adaptive_avg_pool2d(const dl_tensor *x, const int64_t size[2], dl_tensor **out);
dl_status dl_adaptive_max_pool2d(const dl_tensor *x, const int64_t size[2], dl_tensor **out);

typedef enum { DL_UPSAMPLE_NEAREST, DL_UPSAMPLE_BILINEAR } dl_upsample_mode;

/* Resizes images x (N, C, H, W) to (N, C, size[0], size[1]) as PyTorch's
 * F.interpolate (upsample.c); scale[a] > 0 is the scale_factor the size
 * came from (it sets the source coordinates), 0 when a size was given. */
dl_status dl_interpolate(const dl_tensor *x, const int64_t size[2], const double scale[2],
                         dl_upsample_mode mode, bool align_corners, dl_tensor **out);

/* GELU of a: exact (x * Phi(x), as dl_unary(DL_GELU)), or with PyTorch's
 * tanh approximation (approximate = "tanh"). */
dl_status dl_gelu(const dl_tensor *a, bool tanh_approximation, dl_tensor **out);

/* Zeroes each element with probability p and scales the rest by 1/(1-p)
 * when training; the identity otherwise. */
dl_status dl_dropout(const dl_tensor *x, float p, bool training, dl_tensor **out);

/* Batch normalisation over dim 1 of x (N, C) or (N, C, H, W). Training:
 * batch statistics, and running_mean/var (may be NULL) move by momentum
 * (running_var with the unbiased variance); eval: the running statistics.
 * weight/bias (C) may be NULL. */
dl_status dl_batch_norm(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                        dl_tensor *running_mean, dl_tensor *running_var, bool training,
                        float momentum, float eps, dl_tensor **out);

/* Layer normalisation over the last dim; weight/bias (D) may be NULL. */
dl_status dl_layer_norm(const dl_tensor *x, const dl_tensor *weight, const dl_tensor *bias,
                        float eps, dl_tensor **out);

/* Rows of weight (num, dim) picked by 1-based indices of any shape ->
 * (indices..., dim). */
dl_status dl_embedding(const dl_tensor *indices, const dl_tensor *weight, dl_tensor **out);

/* Fused log-softmax + negative log-likelihood: logits (N, C), labels (N)
 * in 1..C; label_smoothing in [0, 1]. */
dl_status dl_cross_entropy(const dl_tensor *logits, const dl_tensor *labels,
                           float label_smoothing, dl_reduction reduction, dl_tensor **out);

/* Negative log-likelihood of log-probabilities (N, C) at labels (N). */
dl_status dl_nll_loss(const dl_tensor *log_probs, const dl_tensor *labels,
                      dl_reduction reduction, dl_tensor **out);

/* PyTorch's default ignore_index: a label of -100 counts for nothing. */
#define DL_IGNORE_DEFAULT (-100.0)

typedef struct {
    const dl_tensor *weight;   /* (C) class weights (constants), or NULL */
    double ignore_index;       /* a label whose positions count for nothing */
    float label_smoothing;     /* [0, 1]; cross_entropy only */
    dl_reduction reduction;    /* "mean" divides by the summed weights of the labels */
} dl_class_loss_options;

/* cross_entropy / nll_loss with PyTorch's options (class_loss.c): scores
 * (N, C) or (N, C, d1, ...); target either labels (N[, d1, ...]) in 1..C
 * (or ignore_index), or, for cross_entropy, probabilities of the scores'
 * shape. "none" gives (N[, d1, ...]). */
dl_status dl_cross_entropy_with(const dl_tensor *logits, const dl_tensor *target,
                                const dl_class_loss_options *options, dl_tensor **out);
dl_status dl_nll_loss_with(const dl_tensor *log_probs, const dl_tensor *target,
                           const dl_class_loss_options *options, dl_tensor **out);

/* Elementwise losses between same-shaped tensors: squared error,
 * absolute error, binary cross-entropy of probabilities, and the stable
 * binary cross-entropy of logits. */
dl_status dl_mse_loss(const dl_tensor *pred, const dl_tensor *target,
                      dl_reduction reduction, dl_tensor **out);
dl_status dl_l1_loss(const dl_tensor *pred, const dl_tensor *target,
                     dl_reduction reduction, dl_tensor **out);
dl_status dl_bce(const dl_tensor *prob, const dl_tensor *target,
                 dl_reduction reduction, dl_tensor **out);
dl_status dl_bce_with_logits(const dl_tensor *logits, const dl_tensor *target,
                             dl_reduction reduction, dl_tensor **out);

/* ---- optimiser steps ------------------------------------------------------ *
 * One fused pass over a parameter and its state, in place, using
 * param->grad (a parameter without a gradient is left as it is), with
 * torch.optim's formulas. Every optimiser of optim/optimizers.def gets
 *
 *   dl_<id>_options   its options, one field per row (PAIR: float[2])
 *   dl_<id>_state     step (this update's number, from 1), fresh (the state
 *                     tensors were just created with their initial values),
 *                     then one field per state row: a tensor of the
 *                     parameter's shape (NULL when not needed) or a number
 *                     that the step updates
 *   dl_<id>_step(param, state, options)
 *
 * State tensors must be contiguous with the parameter's element count. */

#define DL_OPTION_TYPE_REAL float
#define DL_OPTION_TYPE_FLAG bool
#define DL_OPTION_TYPE_PAIR float
#define DL_OPTION_SIZE_REAL
#define DL_OPTION_SIZE_FLAG
#define DL_OPTION_SIZE_PAIR [2]
#define DL_STATE_TYPE_TENSOR dl_tensor *
#define DL_STATE_TYPE_NUMBER double
#define DL_OPTION_FIELD(field, kind, def, check) DL_OPTION_TYPE_##kind field DL_OPTION_SIZE_##kind;
#define DL_STATE_FIELD(name, kind, needed, initial) DL_STATE_TYPE_##kind name;
#define DL_OPTIMIZER(id, Name, OPTIONS, STATE, RULES)                                 \
    typedef struct { OPTIONS(DL_OPTION_FIELD) } dl_##id##_options;                   \
    typedef struct { int64_t step; bool fresh; STATE(DL_STATE_FIELD) } dl_##id##_state; \
    dl_status dl_##id##_step(dl_tensor *param, dl_##id##_state *state,                \
                             const dl_##id##_options *o);
#include "optim/optimizers.def"

/* t *= s, in place (gradient clipping; no grad). */
void dl_scale_(dl_tensor *t, float s);

#endif
