/*
 * Native point arithmetic for GOST R 34.10-2012 with 256-bit keys (ec_native.py wraps it).
 *
 * Included by _streebog.c, so that the one C extension the project builds carries it (no
 * second extension module to register); its Python functions are ec_field, ec_table,
 * ec_mul_base and ec_mul_add. Everything GOST itself does (digest to e, r and s, range checks, encodings, key
 * validation) stays in gost.py; this file only multiplies points, the way gost.py's
 * pure-Python fixed-base code does, with the same tables and the same recoding:
 *
 *   - the field: p odd and below 2^256, four 64-bit limbs, Montgomery form (R = 2^256),
 *     CIOS multiplication, additions and subtractions with masked corrections (no branch
 *     on values); inversion by Fermat (x^(p-2), a fixed public exponent);
 *   - points: projective (X:Y:Z); every addition is Renes-Costello-Batina's complete mixed
 *     addition (eprint 2015/1060, Algorithm 2, general a), the same straight-line formulas
 *     as gost.py's _add_complete_mixed, so doubling, P = -Q and P = infinity need no branch;
 *   - tables: gost.py's fixed-base rows (row i holds (2j + 1) * 16^i * B, j = 0..7, affine),
 *     converted once to Montgomery form by ec_table and kept by the caller (33 KB each);
 *   - scalars: recoded into 65 signed odd digits (Joye-Tunstall, gost.py's _recode: k made
 *     odd by an arithmetic select of k or k + q), so k * B is 65 table points added.
 *
 * Timing of ec_mul_base (the secret nonce of a signature): the recoding runs the same 64
 * steps with masks, every row is scanned completely and the entry picked by masks, the
 * negation is a masked select, every row costs one complete addition, the field arithmetic
 * has no value-dependent branch or memory index, and the inversion exponent is public. The
 * scalar arrives as 32 bytes and its limbs are wiped before returning. (What happens to the
 * scalar in Python before it gets here is gost.py's business; see its docstring.) The C
 * compiler is trusted not to turn the masks back into branches, as in every such C code.
 *
 * ec_mul_add (verification: public inputs) runs the same code on u1 over G's table and u2
 * over the key's table. The GIL is released during the arithmetic.
 */

#include <stdint.h>
#include <string.h>

typedef unsigned __int128 gost_u128;

/* Add and subtract with carry / borrow (0 or 1): the x86-64 instructions where there are. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
#define GOST_ADC(c, a, b, out) _addcarry_u64((unsigned char)(c), (a), (b), (unsigned long long *)(out))
#define GOST_SBB(c, a, b, out) _subborrow_u64((unsigned char)(c), (a), (b), (unsigned long long *)(out))
#else
static inline uint64_t
gost_adc(uint64_t c, uint64_t a, uint64_t b, uint64_t *out)
{
    gost_u128 t = (gost_u128)a + b + c;
    *out = (uint64_t)t;
    return (uint64_t)(t >> 64);
}
static inline uint64_t
gost_sbb(uint64_t c, uint64_t a, uint64_t b, uint64_t *out)
{
    gost_u128 t = (gost_u128)a - b - c;
    *out = (uint64_t)t;
    return (uint64_t)(t >> 64) & 1;
}
#define GOST_ADC(c, a, b, out) gost_adc((c), (a), (b), (out))
#define GOST_SBB(c, a, b, out) gost_sbb((c), (a), (b), (out))
#endif
typedef uint64_t gost_fe[4]; /* little-endian limbs */

typedef struct {
    gost_fe p;
    gost_fe a;   /* Montgomery form */
    gost_fe b3;  /* Montgomery form */
    gost_fe r2;  /* R^2 mod p (plain) */
    gost_fe one; /* R mod p: 1 in Montgomery form */
    gost_fe q;   /* the subgroup order (plain) */
    uint64_t n0; /* -p^-1 mod 2^64 */
    uint64_t a_is_minus_3; /* the CryptoPro curves: a * x is -3x, three subtractions */
} gost_field;

#define GOST_ROWS 65
#define GOST_ODD 8
#define GOST_ENTRY_LIMBS 8 /* x, y */
#define GOST_TABLE_LIMBS (GOST_ROWS * GOST_ODD * GOST_ENTRY_LIMBS)
#define GOST_TABLE_BYTES (GOST_TABLE_LIMBS * 8)

static void
gost_load_be(gost_fe r, const uint8_t *in)
{
    for (int i = 0; i < 4; i++) {
        uint64_t w = 0;
        for (int j = 0; j < 8; j++) {
            w = (w << 8) | in[(3 - i) * 8 + j];
        }
        r[i] = w;
    }
}

static void
gost_store_be(uint8_t *out, const gost_fe a)
{
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 8; j++) {
            out[(3 - i) * 8 + j] = (uint8_t)(a[i] >> (56 - 8 * j));
        }
    }
}

/* lo, carry = a * b + lo + c (one limb of a row). */
static inline void
gost_mac(uint64_t *lo, uint64_t *carry, uint64_t a, uint64_t b, uint64_t c)
{
    gost_u128 t = (gost_u128)a * b + *lo + c;
    *lo = (uint64_t)t;
    *carry = (uint64_t)(t >> 64);
}

/* r = a * b * R^-1 mod p (CIOS, unrolled). Inputs below p; the result is below p. */
static void
gost_mul(gost_fe r, const gost_fe a, const gost_fe b, const gost_field *f)
{
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5, c, m;
    const uint64_t p0 = f->p[0], p1 = f->p[1], p2 = f->p[2], p3 = f->p[3];
    gost_u128 w;
    for (int i = 0; i < 4; i++) {
        const uint64_t bi = b[i];
        gost_mac(&t0, &c, a[0], bi, 0);
        gost_mac(&t1, &c, a[1], bi, c);
        gost_mac(&t2, &c, a[2], bi, c);
        gost_mac(&t3, &c, a[3], bi, c);
        w = (gost_u128)t4 + c;
        t4 = (uint64_t)w;
        t5 = (uint64_t)(w >> 64);
        m = t0 * f->n0;
        w = (gost_u128)m * p0 + t0;
        c = (uint64_t)(w >> 64);
        w = (gost_u128)m * p1 + t1 + c;
        t0 = (uint64_t)w;
        c = (uint64_t)(w >> 64);
        w = (gost_u128)m * p2 + t2 + c;
        t1 = (uint64_t)w;
        c = (uint64_t)(w >> 64);
        w = (gost_u128)m * p3 + t3 + c;
        t2 = (uint64_t)w;
        c = (uint64_t)(w >> 64);
        w = (gost_u128)t4 + c;
        t3 = (uint64_t)w;
        t4 = t5 + (uint64_t)(w >> 64);
    }
    /* t < 2p: subtract p unless that borrows (with t4 as the 257th bit). */
    uint64_t s0, s1, s2, s3, borrow = 0;
    borrow = GOST_SBB(borrow, t0, p0, &s0);
    borrow = GOST_SBB(borrow, t1, p1, &s1);
    borrow = GOST_SBB(borrow, t2, p2, &s2);
    borrow = GOST_SBB(borrow, t3, p3, &s3);
    uint64_t keep_t = (uint64_t)0 - (borrow & (t4 ^ 1)); /* all ones: t < p */
    r[0] = (t0 & keep_t) | (s0 & ~keep_t);
    r[1] = (t1 & keep_t) | (s1 & ~keep_t);
    r[2] = (t2 & keep_t) | (s2 & ~keep_t);
    r[3] = (t3 & keep_t) | (s3 & ~keep_t);
}

static void
gost_add(gost_fe r, const gost_fe a, const gost_fe b, const gost_field *f)
{
    uint64_t s[4], u[4];
    uint64_t carry = 0;
    for (int j = 0; j < 4; j++) {
        carry = GOST_ADC(carry, a[j], b[j], &s[j]);
    }
    uint64_t borrow = 0;
    for (int j = 0; j < 4; j++) {
        borrow = GOST_SBB(borrow, s[j], f->p[j], &u[j]);
    }
    uint64_t keep_s = (uint64_t)0 - (borrow & (carry ^ 1)); /* s < p */
    for (int j = 0; j < 4; j++) {
        r[j] = (s[j] & keep_s) | (u[j] & ~keep_s);
    }
}

static void
gost_sub(gost_fe r, const gost_fe a, const gost_fe b, const gost_field *f)
{
    uint64_t s[4];
    uint64_t borrow = 0;
    for (int j = 0; j < 4; j++) {
        borrow = GOST_SBB(borrow, a[j], b[j], &s[j]);
    }
    uint64_t mask = (uint64_t)0 - borrow;
    uint64_t carry = 0;
    for (int j = 0; j < 4; j++) {
        carry = GOST_ADC(carry, s[j], f->p[j] & mask, &r[j]);
    }
}

/* a^(p-2): the inverse of a nonzero a (0 gives 0). The exponent is public; 4-bit windows,
 * every window one table multiplication (the table entry index is the public exponent's). */
static void
gost_inv(gost_fe r, const gost_fe a, const gost_field *f)
{
    gost_fe e, acc, pow[16];
    uint64_t borrow = 0;
    for (int j = 0; j < 4; j++) { /* e = p - 2 (p > 2) */
        borrow = GOST_SBB(borrow, f->p[j], j == 0 ? 2 : 0, &e[j]);
    }
    memcpy(pow[0], f->one, sizeof pow[0]);
    memcpy(pow[1], a, sizeof pow[1]);
    for (int i = 2; i < 16; i++) {
        gost_mul(pow[i], pow[i - 1], a, f);
    }
    memcpy(acc, f->one, sizeof acc);
    for (int i = 63; i >= 0; i--) {
        for (int s = 0; s < 4; s++) {
            gost_mul(acc, acc, acc, f);
        }
        unsigned w = (unsigned)(e[i / 16] >> (4 * (i % 16))) & 15;
        gost_mul(acc, acc, pow[w], f);
    }
    memcpy(r, acc, sizeof acc);
}

/* r = a * x (a public property of the curve picks the way, not a value). */
static void
gost_mul_a(gost_fe r, const gost_fe x, const gost_field *f)
{
    if (f->a_is_minus_3) {
        gost_fe t;
        gost_add(t, x, x, f);
        gost_add(t, t, x, f);
        gost_fe zero = {0, 0, 0, 0};
        gost_sub(r, zero, t, f);
    } else {
        gost_mul(r, f->a, x, f);
    }
}

/* (x3:y3:z3) = (x1:y1:z1) + (x2, y2), gost.py's _add_complete_mixed line by line. */
static void
gost_add_mixed(gost_fe x1, gost_fe y1, gost_fe z1, const gost_fe x2, const gost_fe y2,
               const gost_field *f)
{
    gost_fe t0, t1, t3, t4, t5, az1, x3, y3, z3, u, v;
    gost_mul(t0, x1, x2, f);
    gost_mul(t1, y1, y2, f);
    gost_add(u, x2, y2, f);
    gost_add(v, x1, y1, f);
    gost_mul(t3, u, v, f);
    gost_sub(t3, t3, t0, f);
    gost_sub(t3, t3, t1, f);
    gost_mul(t4, x2, z1, f);
    gost_add(t4, t4, x1, f);
    gost_mul(t5, y2, z1, f);
    gost_add(t5, t5, y1, f);
    gost_mul_a(az1, z1, f);
    gost_mul_a(u, t4, f);
    gost_mul(v, f->b3, z1, f);
    gost_add(z3, u, v, f);
    gost_sub(x3, t1, z3, f);
    gost_add(z3, t1, z3, f);
    gost_mul(y3, x3, z3, f);
    gost_add(u, t0, t0, f);
    gost_add(u, u, t0, f);
    gost_add(t1, u, az1, f); /* 3 t0 + a z1 */
    gost_mul(u, f->b3, t4, f);
    gost_sub(v, t0, az1, f);
    gost_mul_a(v, v, f);
    gost_add(t4, u, v, f); /* 3b t4 + a (t0 - a z1) */
    gost_mul(u, t1, t4, f);
    gost_add(y3, y3, u, f);
    gost_mul(u, t3, x3, f);
    gost_mul(v, t5, t4, f);
    gost_sub(x3, u, v, f);
    gost_mul(u, t5, z3, f);
    gost_mul(v, t3, t1, f);
    gost_add(z3, u, v, f);
    memcpy(x1, x3, sizeof x3);
    memcpy(y1, y3, sizeof y3);
    memcpy(z1, z3, sizeof z3);
}

/*
 * The 65 signed odd digits of k (0 <= k < 2^256) modulo q, gost.py's _recode: k += q when k
 * is even (a masked add), then 64 times d = (k mod 32) - 16, k = (k - d) / 16; the last digit
 * is what remains.
 */
static void
gost_recode(int8_t digits[GOST_ROWS], const gost_fe scalar, const gost_field *f)
{
    uint64_t k[5], kq[5];
    gost_u128 c = 0;
    for (int j = 0; j < 4; j++) {
        c += (gost_u128)scalar[j] + f->q[j];
        kq[j] = (uint64_t)c;
        c >>= 64;
    }
    kq[4] = (uint64_t)c;
    uint64_t even = (uint64_t)0 - ((scalar[0] & 1) ^ 1);
    for (int j = 0; j < 4; j++) {
        k[j] = (kq[j] & even) | (scalar[j] & ~even);
    }
    k[4] = kq[4] & even;
    for (int i = 0; i < GOST_ROWS - 1; i++) {
        int64_t d = (int64_t)(k[0] & 31) - 16;
        digits[i] = (int8_t)d;
        uint64_t low = (uint64_t)d;
        uint64_t ext = (uint64_t)(d >> 63); /* sign extension of d */
        uint64_t borrow = 0;
        for (int j = 0; j < 5; j++) {
            borrow = GOST_SBB(borrow, k[j], j == 0 ? low : ext, &k[j]);
        }
        for (int j = 0; j < 4; j++) {
            k[j] = (k[j] >> 4) | (k[j + 1] << 60);
        }
        k[4] >>= 4;
    }
    digits[GOST_ROWS - 1] = (int8_t)k[0];
    memset(k, 0, sizeof k);
    memset(kq, 0, sizeof kq);
}

/* acc += scalar * B over B's table; every row scanned whole, entries picked by masks. */
static void
gost_comb(gost_fe x, gost_fe y, gost_fe z, const uint64_t *table, const gost_fe scalar,
          const gost_field *f)
{
    int8_t digits[GOST_ROWS];
    gost_fe ex, ey, ny;
    gost_recode(digits, scalar, f);
    for (int i = 0; i < GOST_ROWS; i++) {
        uint64_t d = (uint64_t)(int64_t)digits[i];
        uint64_t neg = d >> 63;
        uint64_t index = ((d ^ ((uint64_t)0 - neg)) + neg) >> 1; /* |d| = 2 index + 1 */
        const uint64_t *row = table + (size_t)i * GOST_ODD * GOST_ENTRY_LIMBS;
        memset(ex, 0, sizeof ex);
        memset(ey, 0, sizeof ey);
        for (uint64_t j = 0; j < GOST_ODD; j++) {
            uint64_t pick = (uint64_t)0 - (((index ^ j) - 1) >> 63); /* all ones: j == index */
            for (int l = 0; l < 4; l++) {
                ex[l] |= row[j * GOST_ENTRY_LIMBS + l] & pick;
                ey[l] |= row[j * GOST_ENTRY_LIMBS + 4 + l] & pick;
            }
        }
        gost_fe zero = {0, 0, 0, 0};
        gost_sub(ny, zero, ey, f);
        uint64_t flip = (uint64_t)0 - neg;
        for (int l = 0; l < 4; l++) {
            ey[l] = (ey[l] & ~flip) | (ny[l] & flip);
        }
        gost_add_mixed(x, y, z, ex, ey, f);
    }
    memset(digits, 0, sizeof digits);
}

/* (x : y : z) to affine big-endian x || y; returns 0 for the point at infinity. */
static int
gost_affine(uint8_t out[64], gost_fe x, gost_fe y, const gost_fe z, const gost_field *f)
{
    gost_fe zinv, one = {1, 0, 0, 0};
    uint64_t nonzero = z[0] | z[1] | z[2] | z[3];
    gost_inv(zinv, z, f);
    gost_mul(x, x, zinv, f);
    gost_mul(y, y, zinv, f);
    gost_mul(x, x, one, f); /* out of Montgomery form */
    gost_mul(y, y, one, f);
    gost_store_be(out, x);
    gost_store_be(out + 32, y);
    return nonzero != 0;
}

static int
gost_ge_p(const gost_fe a, const gost_fe p)
{
    for (int i = 3; i >= 0; i--) {
        if (a[i] != p[i]) {
            return a[i] > p[i];
        }
    }
    return 1;
}

/* params: p, a, b, q (32 bytes each, big-endian, a and b below p). 0 or -1 (ValueError). */
static int
gost_field_from(gost_field *f, const uint8_t *params, Py_ssize_t len)
{
    gost_fe a, b;
    if (len != 128) {
        PyErr_SetString(PyExc_ValueError, "curve parameters are p, a, b, q: 128 bytes");
        return -1;
    }
    gost_load_be(f->p, params);
    gost_load_be(a, params + 32);
    gost_load_be(b, params + 64);
    gost_load_be(f->q, params + 96);
    if (!(f->p[0] & 1) || !(f->p[3] >> 32) || gost_ge_p(a, f->p) || gost_ge_p(b, f->p)) {
        PyErr_SetString(PyExc_ValueError, "p must be odd and above 2^224; a and b below p");
        return -1;
    }
    uint64_t inv = f->p[0]; /* Newton: inv = p^-1 mod 2^64 */
    for (int i = 0; i < 6; i++) {
        inv *= 2 - f->p[0] * inv;
    }
    f->n0 = (uint64_t)0 - inv;
    {
        /* R = 2^256 mod p: 1 doubled 256 times mod p; R^2 mod p: 256 more doublings. */
        gost_fe acc = {1, 0, 0, 0};
        for (int i = 0; i < 256; i++) {
            gost_add(acc, acc, acc, f);
        }
        memcpy(f->one, acc, sizeof acc);
        for (int i = 0; i < 256; i++) {
            gost_add(acc, acc, acc, f);
        }
        memcpy(f->r2, acc, sizeof acc);
    }
    gost_mul(f->a, a, f->r2, f);
    gost_fe minus_3 = {3, 0, 0, 0}, zero = {0, 0, 0, 0};
    gost_sub(minus_3, zero, minus_3, f);
    f->a_is_minus_3 = memcmp(a, minus_3, sizeof a) == 0;
    gost_fe b3;
    gost_add(b3, b, b, f);
    gost_add(b3, b3, b, f);
    gost_mul(f->b3, b3, f->r2, f);
    return 0;
}

static int
gost_field_load(gost_field *f, PyObject *obj)
{
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (view.len != (Py_ssize_t)sizeof(gost_field)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "not a field made by ec_field");
        return -1;
    }
    memcpy(f, view.buf, sizeof(gost_field));
    PyBuffer_Release(&view);
    return 0;
}

PyDoc_STRVAR(ec_field_doc,
             "ec_field(params, /)\n--\n\n"
             "The curve constants in this module's form, from params p || a || b || q (32\n"
             "bytes big-endian each; p odd above 2^224, a and b below p).");

static PyObject *
ec_field(PyObject *module, PyObject *args)
{
    Py_buffer params;
    gost_field f;
    (void)module;
    if (!PyArg_ParseTuple(args, "y*:ec_field", &params)) {
        return NULL;
    }
    int bad = gost_field_from(&f, (const uint8_t *)params.buf, params.len);
    PyBuffer_Release(&params);
    if (bad < 0) {
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)&f, sizeof f);
}

static int
gost_scalar_from(gost_fe k, PyObject *obj, const char *what)
{
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (view.len != 32) {
        PyBuffer_Release(&view);
        PyErr_Format(PyExc_ValueError, "%s must be 32 bytes", what);
        return -1;
    }
    gost_load_be(k, (const uint8_t *)view.buf);
    PyBuffer_Release(&view);
    return 0;
}

PyDoc_STRVAR(ec_table_doc,
             "ec_table(field, rows, /)\n--\n\n"
             "A fixed-base table in this module's form: rows holds gost.py's 65 x 8 affine\n"
             "points (x then y, 32 bytes big-endian each); field is from ec_field.");

static PyObject *
ec_table(PyObject *module, PyObject *args)
{
    PyObject *field_obj;
    Py_buffer rows;
    gost_field f;
    (void)module;
    if (!PyArg_ParseTuple(args, "Oy*:ec_table", &field_obj, &rows)) {
        return NULL;
    }
    PyObject *result = NULL;
    if (gost_field_load(&f, field_obj) < 0) {
        goto done;
    }
    if (rows.len != GOST_TABLE_LIMBS * 8) {
        PyErr_SetString(PyExc_ValueError, "a table is 65 x 8 points of 64 bytes");
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, GOST_TABLE_BYTES);
    if (result == NULL) {
        goto done;
    }
    uint64_t *out = (uint64_t *)PyBytes_AS_STRING(result);
    const uint8_t *in = (const uint8_t *)rows.buf;
    for (size_t i = 0; i < GOST_TABLE_LIMBS / 4; i++) {
        gost_fe v;
        gost_load_be(v, in + 32 * i);
        if (gost_ge_p(v, f.p)) {
            Py_CLEAR(result);
            PyErr_SetString(PyExc_ValueError, "a table coordinate is not below p");
            goto done;
        }
        gost_mul(out + 4 * i, v, f.r2, &f);
    }
done:
    PyBuffer_Release(&rows);
    return result;
}

static int
gost_table_from(PyObject *obj, Py_buffer *view)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (view->len != GOST_TABLE_BYTES) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_ValueError, "not a table made by ec_table");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(ec_mul_base_doc,
             "ec_mul_base(field, table, k, /)\n--\n\n"
             "k * B (k: 32 bytes big-endian, below q) over B's table from ec_table, as 64\n"
             "bytes x || y big-endian; None for the point at infinity. Uniform schedule.");

static PyObject *
ec_mul_base(PyObject *module, PyObject *args)
{
    PyObject *field_obj, *table_obj, *k_obj;
    gost_field f;
    gost_fe k;
    uint8_t out[64];
    int finite = 0;
    (void)module;
    if (!PyArg_ParseTuple(args, "OOO:ec_mul_base", &field_obj, &table_obj, &k_obj)) {
        return NULL;
    }
    if (gost_field_load(&f, field_obj) < 0 || gost_scalar_from(k, k_obj, "k") < 0) {
        return NULL;
    }
    Py_buffer table;
    if (gost_table_from(table_obj, &table) < 0) {
        memset(k, 0, sizeof k);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    gost_fe x = {0, 0, 0, 0}, y, z = {0, 0, 0, 0};
    memcpy(y, f.one, sizeof y);
    gost_comb(x, y, z, (const uint64_t *)table.buf, k, &f);
    finite = gost_affine(out, x, y, z, &f);
    Py_END_ALLOW_THREADS
    memset(k, 0, sizeof k);
    PyBuffer_Release(&table);
    if (!finite) {
        Py_RETURN_NONE;
    }
    return PyBytes_FromStringAndSize((const char *)out, 64);
}

PyDoc_STRVAR(ec_mul_add_doc,
             "ec_mul_add(field, table_g, u1, table_q, u2, /)\n--\n\n"
             "u1 * G + u2 * Q over the two tables from ec_table (public inputs), as 64 bytes\n"
             "x || y big-endian; None for the point at infinity.");

static PyObject *
ec_mul_add(PyObject *module, PyObject *args)
{
    PyObject *field_obj, *tg_obj, *u1_obj, *tq_obj, *u2_obj;
    gost_field f;
    gost_fe u1, u2;
    uint8_t out[64];
    int finite = 0;
    (void)module;
    if (!PyArg_ParseTuple(args, "OOOOO:ec_mul_add", &field_obj, &tg_obj, &u1_obj, &tq_obj,
                          &u2_obj)) {
        return NULL;
    }
    if (gost_field_load(&f, field_obj) < 0 || gost_scalar_from(u1, u1_obj, "u1") < 0 ||
        gost_scalar_from(u2, u2_obj, "u2") < 0) {
        return NULL;
    }
    Py_buffer tg, tq;
    if (gost_table_from(tg_obj, &tg) < 0) {
        return NULL;
    }
    if (gost_table_from(tq_obj, &tq) < 0) {
        PyBuffer_Release(&tg);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    gost_fe x = {0, 0, 0, 0}, y, z = {0, 0, 0, 0};
    memcpy(y, f.one, sizeof y);
    gost_comb(x, y, z, (const uint64_t *)tq.buf, u2, &f);
    gost_comb(x, y, z, (const uint64_t *)tg.buf, u1, &f);
    finite = gost_affine(out, x, y, z, &f);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&tg);
    PyBuffer_Release(&tq);
    if (!finite) {
        Py_RETURN_NONE;
    }
    return PyBytes_FromStringAndSize((const char *)out, 64);
}
