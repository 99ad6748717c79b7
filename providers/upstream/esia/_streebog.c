/*
 * Native accelerator for GOST R 34.11-2012 "Streebog" (RFC 6986), 256 and 512 bit.
 *
 * Optional: streebog.py uses it when it was built and falls back to its pure-Python engine
 * otherwise. Same algorithm, same byte order (the message from its first byte, 512-bit values
 * as little-endian integers, the digest in that order, as OpenSSL gost-engine and gostcrypto
 * return it); the tests check the two backends against each other and the standard.
 *
 * Python API: digest(data, size) -> bytes, where data is any contiguous bytes-like object and
 * size is 32 or 64 (the digest length in bytes). The GIL is released while hashing.
 *
 * Portability: the 512-bit state is eight uint64_t words, word 0 least significant. Message
 * bytes are loaded and the digest stored one byte at a time (load64_le / store64_le), so the
 * code does not depend on the host's endianness or alignment; the rest is shifts and XORs.
 *
 * Timing: like streebog.py, lookups are indexed by message bytes (not constant time). Fine
 * for the public data ESIA needs hashed; do not use it to hash long-term secrets.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* S-box pi (GOST R 34.11-2012 §5.1). */
static const uint8_t PI[256] = {
    0xfc, 0xee, 0xdd, 0x11, 0xcf, 0x6e, 0x31, 0x16, 0xfb, 0xc4, 0xfa, 0xda, 0x23, 0xc5, 0x04, 0x4d,
    0xe9, 0x77, 0xf0, 0xdb, 0x93, 0x2e, 0x99, 0xba, 0x17, 0x36, 0xf1, 0xbb, 0x14, 0xcd, 0x5f, 0xc1,
    0xf9, 0x18, 0x65, 0x5a, 0xe2, 0x5c, 0xef, 0x21, 0x81, 0x1c, 0x3c, 0x42, 0x8b, 0x01, 0x8e, 0x4f,
    0x05, 0x84, 0x02, 0xae, 0xe3, 0x6a, 0x8f, 0xa0, 0x06, 0x0b, 0xed, 0x98, 0x7f, 0xd4, 0xd3, 0x1f,
    0xeb, 0x34, 0x2c, 0x51, 0xea, 0xc8, 0x48, 0xab, 0xf2, 0x2a, 0x68, 0xa2, 0xfd, 0x3a, 0xce, 0xcc,
    0xb5, 0x70, 0x0e, 0x56, 0x08, 0x0c, 0x76, 0x12, 0xbf, 0x72, 0x13, 0x47, 0x9c, 0xb7, 0x5d, 0x87,
    0x15, 0xa1, 0x96, 0x29, 0x10, 0x7b, 0x9a, 0xc7, 0xf3, 0x91, 0x78, 0x6f, 0x9d, 0x9e, 0xb2, 0xb1,
    0x32, 0x75, 0x19, 0x3d, 0xff, 0x35, 0x8a, 0x7e, 0x6d, 0x54, 0xc6, 0x80, 0xc3, 0xbd, 0x0d, 0x57,
    0xdf, 0xf5, 0x24, 0xa9, 0x3e, 0xa8, 0x43, 0xc9, 0xd7, 0x79, 0xd6, 0xf6, 0x7c, 0x22, 0xb9, 0x03,
    0xe0, 0x0f, 0xec, 0xde, 0x7a, 0x94, 0xb0, 0xbc, 0xdc, 0xe8, 0x28, 0x50, 0x4e, 0x33, 0x0a, 0x4a,
    0xa7, 0x97, 0x60, 0x73, 0x1e, 0x00, 0x62, 0x44, 0x1a, 0xb8, 0x38, 0x82, 0x64, 0x9f, 0x26, 0x41,
    0xad, 0x45, 0x46, 0x92, 0x27, 0x5e, 0x55, 0x2f, 0x8c, 0xa3, 0xa5, 0x7d, 0x69, 0xd5, 0x95, 0x3b,
    0x07, 0x58, 0xb3, 0x40, 0x86, 0xac, 0x1d, 0xf7, 0x30, 0x37, 0x6b, 0xe4, 0x88, 0xd9, 0xe7, 0x89,
    0xe1, 0x1b, 0x83, 0x49, 0x4c, 0x3f, 0xf8, 0xfe, 0x8d, 0x53, 0xaa, 0x90, 0xca, 0xd8, 0x85, 0x61,
    0x20, 0x71, 0x67, 0xa4, 0x2d, 0x2b, 0x09, 0x5b, 0xcb, 0x9b, 0x25, 0xd0, 0xbe, 0xe5, 0x6c, 0x52,
    0x59, 0xa6, 0x74, 0xd2, 0xe6, 0xf4, 0xb4, 0xc0, 0xd1, 0x66, 0xaf, 0xc2, 0x39, 0x4b, 0x63, 0xb6,
};

/* Rows of the 64x64 binary matrix A of the linear map L (§5.4), first row = top bit:
 * L maps bit t (0 = least significant) of a 64-bit word to A[63 - t]. */
static const uint64_t A[64] = {
    0x8e20faa72ba0b470, 0x47107ddd9b505a38, 0xad08b0e0c3282d1c, 0xd8045870ef14980e,
    0x6c022c38f90a4c07, 0x3601161cf205268d, 0x1b8e0b0e798c13c8, 0x83478b07b2468764,
    0xa011d380818e8f40, 0x5086e740ce47c920, 0x2843fd2067adea10, 0x14aff010bdd87508,
    0x0ad97808d06cb404, 0x05e23c0468365a02, 0x8c711e02341b2d01, 0x46b60f011a83988e,
    0x90dab52a387ae76f, 0x486dd4151c3dfdb9, 0x24b86a840e90f0d2, 0x125c354207487869,
    0x092e94218d243cba, 0x8a174a9ec8121e5d, 0x4585254f64090fa0, 0xaccc9ca9328a8950,
    0x9d4df05d5f661451, 0xc0a878a0a1330aa6, 0x60543c50de970553, 0x302a1e286fc58ca7,
    0x18150f14b9ec46dd, 0x0c84890ad27623e0, 0x0642ca05693b9f70, 0x0321658cba93c138,
    0x86275df09ce8aaa8, 0x439da0784e745554, 0xafc0503c273aa42a, 0xd960281e9d1d5215,
    0xe230140fc0802984, 0x71180a8960409a42, 0xb60c05ca30204d21, 0x5b068c651810a89e,
    0x456c34887a3805b9, 0xac361a443d1c8cd2, 0x561b0d22900e4669, 0x2b838811480723ba,
    0x9bcf4486248d9f5d, 0xc3e9224312c8c1a0, 0xeffa11af0964ee50, 0xf97d86d98a327728,
    0xe4fa2054a80b329c, 0x727d102a548b194e, 0x39b008152acb8227, 0x9258048415eb419d,
    0x492c024284fbaec0, 0xaa16012142f35760, 0x550b8e9e21f7a530, 0xa48b474f9ef5dc18,
    0x70a6a56e2440598e, 0x3853dc371220a247, 0x1ca76e95091051ad, 0x0edd37c48a08a6d8,
    0x07e095624504536c, 0x8d70c431ac02a736, 0xc83862965601dd1b, 0x641c314b2b8ee083,
};

/* Iteration constants C_1..C_12 of the key schedule (§6), word 0 least significant. */
static const uint64_t C[12][8] = {
    {0xdd806559f2a64507, 0x05767436cc744d23, 0xa2422a08a460d315, 0x4b7ce09192676901,
     0x714eb88d7585c4fc, 0x2f6a76432e45d016, 0xebcb2f81c0657c1f, 0xb1085bda1ecadae9},
    {0xe679047021b19bb7, 0x55dda21bd7cbcd56, 0x5cb561c2db0aa7ca, 0x9ab5176b12d69958,
     0x61d55e0f16b50131, 0xf3feea720a232b98, 0x4fe39d460f70b5d7, 0x6fa3b58aa99d2f1a},
    {0x991e96f50aba0ab2, 0xc2b6f443867adb31, 0xc1c93a376062db09, 0xd3e20fe490359eb1,
     0xf2ea7514b1297b7b, 0x06f15e5f529c1f8b, 0x0a39fc286a3d8435, 0xf574dcac2bce2fc7},
    {0x220cbebc84e3d12e, 0x3453eaa193e837f1, 0xd8b71333935203be, 0xa9d72c82ed03d675,
     0x9d721cad685e353f, 0x488e857e335c3c7d, 0xf948e1a05d71e4dd, 0xef1fdfb3e81566d2},
    {0x601758fd7c6cfe57, 0x7a56a27ea9ea63f5, 0xdfff00b723271a16, 0xbfcd1747253af5a3,
     0x359e35d7800fffbd, 0x7f151c1f1686104a, 0x9a3f410c6ca92363, 0x4bea6bacad474799},
    {0xfa68407a46647d6e, 0xbf71c57236904f35, 0x0af21f66c2bec6b6, 0xcffaa6b71c9ab7b4,
     0x187f9ab49af08ec6, 0x2d66c4f95142a46c, 0x6fa4c33b7a3039c0, 0xae4faeae1d3ad3d9},
    {0x8886564d3a14d493, 0x3517454ca23c4af3, 0x06476983284a0504, 0x0992abc52d822c37,
     0xd3473e33197a93c9, 0x399ec6c7e6bf87c9, 0x51ac86febf240954, 0xf4c70e16eeaac5ec},
    {0xa47f0dd4bf02e71e, 0x36acc2355951a8d9, 0x69d18d2bd1a5c42f, 0xf4892bcb929b0690,
     0x89b4443b4ddbc49a, 0x4eb7f8719c36de1e, 0x03e7aa020c6e4141, 0x9b1f5b424d93c9a7},
    {0x7261445183235adb, 0x0e38dc92cb1f2a60, 0x7b2b8a9aa6079c54, 0x800a440bdbb2ceb1,
     0x3cd955b7e00d0984, 0x3a7d3a1b25894224, 0x944c9ad8ec165fde, 0x378f5a541631229b},
    {0x74b4c7fb98459ced, 0x3698fad1153bb6c3, 0x7a1e6c303b7652f4, 0x9fe76702af69334b,
     0x1fffe18a1b336103, 0x8941e71cff8a78db, 0x382ae548b2e4f3f3, 0xabbedea680056f52},
    {0x6bcaa4cd81f32d1b, 0xdea2594ac06fd85d, 0xefbacd1d7d476e98, 0x8a1d71efea48b9ca,
     0x2001802114846679, 0xd8fa6bbbebab0761, 0x3002c6cd635afe94, 0x7bcd9ed0efc889fb},
    {0x48bc924af11bd720, 0xfaf417d5d9b21b99, 0xe71da4aa88e12852, 0x5d80ef9d1891cc86,
     0xf82012d430219f9b, 0xcda43c32bcdf1d77, 0xd21380b00449b17a, 0x378ee767f11631ba},
};

/*
 * The round function LPS = L(P(S(x))) as 8 x 256 lookups (16 KB, fits in L1).
 *
 * S substitutes each byte through PI. P is the byte transposition tau(8i + j) = 8j + i
 * (§5.3): byte i of word j moves to byte j of word i. L multiplies each 64-bit word by A and
 * is linear over GF(2), so it is the XOR of the contributions of the word's eight bytes.
 * Hence T[j][b] = L(PI[b] placed at byte j of a word), and output word i is the XOR over j of
 * T[j][byte i of input word j]; tau is that indexing, it needs no table of its own.
 */
static uint64_t T[8][256];
static int tables_ready;

static void
build_tables(void)
{
    uint64_t linear[256]; /* L of byte v at byte j of a word, for the current j */
    for (int j = 0; j < 8; j++) {
        linear[0] = 0;
        for (int v = 1; v < 256; v++) {
            /* Peel off the lowest set bit t: linear[v] = linear[v without t] ^ A[63 - 8j - t]. */
            int t = 0;
            while (!((v >> t) & 1)) {
                t++;
            }
            linear[v] = linear[v & (v - 1)] ^ A[63 - 8 * j - t];
        }
        for (int b = 0; b < 256; b++) {
            T[j][b] = linear[PI[b]];
        }
    }
    tables_ready = 1;
}

static inline uint64_t
load64_le(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static inline void
store64_le(uint8_t *p, uint64_t x)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(x >> (8 * i));
    }
}

/* out = LPS(a ^ b); out may alias neither a nor b. */
static inline void
lps_xor(uint64_t out[8], const uint64_t a[8], const uint64_t b[8])
{
    uint64_t x[8];
    for (int j = 0; j < 8; j++) {
        x[j] = a[j] ^ b[j];
    }
    for (int i = 0; i < 8; i++) {
        const int shift = 8 * i;
        out[i] = T[0][(x[0] >> shift) & 0xff] ^ T[1][(x[1] >> shift) & 0xff] ^
                 T[2][(x[2] >> shift) & 0xff] ^ T[3][(x[3] >> shift) & 0xff] ^
                 T[4][(x[4] >> shift) & 0xff] ^ T[5][(x[5] >> shift) & 0xff] ^
                 T[6][(x[6] >> shift) & 0xff] ^ T[7][(x[7] >> shift) & 0xff];
    }
}

/* h = g_N(h, m) = E(LPS(h ^ N), m) ^ h ^ m (§7), E being 12 rounds keyed by K_1..K_13. */
static void
compress(uint64_t h[8], const uint64_t n[8], const uint64_t m[8])
{
    uint64_t k[8], s[8], tmp[8];
    lps_xor(k, h, n); /* K_1 */
    memcpy(s, m, sizeof s);
    for (int r = 0; r < 12; r++) {
        lps_xor(tmp, s, k); /* state: X[K_r] then LPS */
        memcpy(s, tmp, sizeof s);
        lps_xor(tmp, k, C[r]); /* K_{r+1} = LPS(K_r ^ C_r) */
        memcpy(k, tmp, sizeof k);
    }
    for (int i = 0; i < 8; i++) {
        h[i] ^= s[i] ^ k[i] ^ m[i]; /* X[K_13], then the Miyaguchi-Preneel feed-forward */
    }
}

/* acc += x mod 2^512 (both 512-bit little-endian word arrays). */
static void
add512(uint64_t acc[8], const uint64_t x[8])
{
    uint64_t carry = 0;
    for (int i = 0; i < 8; i++) {
        const uint64_t sum = acc[i] + x[i];
        const uint64_t c1 = sum < x[i];
        acc[i] = sum + carry;
        carry = c1 | (acc[i] < sum);
    }
}

/* acc += x mod 2^512 for a small x (the block counter N). */
static void
add512_small(uint64_t acc[8], uint64_t x)
{
    const uint64_t addend[8] = {x, 0, 0, 0, 0, 0, 0, 0};
    add512(acc, addend);
}

static void
load_block(uint64_t m[8], const uint8_t *p)
{
    for (int i = 0; i < 8; i++) {
        m[i] = load64_le(p + 8 * i);
    }
}

/* Stages 1-3 of §8: full blocks from the front, then the padded tail, N and Sigma.
 * out gets the 64-byte final state; the 256-bit hash is its last 32 bytes. */
static void
streebog(uint8_t out[64], const uint8_t *data, size_t len, int size)
{
    static const uint64_t zero[8] = {0};
    uint64_t h[8], n[8] = {0}, sigma[8] = {0}, m[8];
    const uint64_t iv = size == 32 ? 0x0101010101010101 : 0; /* IV: 0x01...01 or 0 */
    for (int i = 0; i < 8; i++) {
        h[i] = iv;
    }
    for (; len >= 64; data += 64, len -= 64) {
        load_block(m, data);
        compress(h, n, m);
        add512_small(n, 512);
        add512(sigma, m);
    }
    /* The tail (possibly empty) is padded as M || 0x01 || 0..0 (little-endian bytes). */
    uint8_t last[64] = {0};
    if (len) {
        memcpy(last, data, len);
    }
    last[len] = 0x01;
    load_block(m, last);
    compress(h, n, m);
    add512_small(n, 8 * (uint64_t)len);
    add512(sigma, m);
    compress(h, zero, n);
    compress(h, zero, sigma);
    for (int i = 0; i < 8; i++) {
        store64_le(out + 8 * i, h[i]);
    }
}

PyDoc_STRVAR(digest_doc,
             "digest(data, size, /)\n--\n\n"
             "GOST R 34.11-2012 hash of a bytes-like object; size is 32 (Streebog-256) or 64\n"
             "(Streebog-512). Same byte order as streebog.py (OpenSSL gost-engine, gostcrypto).");

static PyObject *
digest(PyObject *module, PyObject *args)
{
    Py_buffer view;
    int size;
    uint8_t out[64];
    (void)module;
    if (!PyArg_ParseTuple(args, "y*i:digest", &view, &size)) {
        return NULL;
    }
    if (size != 32 && size != 64) {
        PyBuffer_Release(&view);
        PyErr_Format(PyExc_ValueError, "size must be 32 or 64, not %d", size);
        return NULL;
    }
    /* The buffer stays exported (so it cannot be resized or freed) until PyBuffer_Release. */
    Py_BEGIN_ALLOW_THREADS
    streebog(out, (const uint8_t *)view.buf, (size_t)view.len, size);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    /* 256 bits: the most significant half of the state, i.e. its last 32 bytes. */
    return PyBytes_FromStringAndSize((const char *)out + (64 - size), size);
}

/* GOST R 34.10-2012 point arithmetic (ec_native.py): its own file, built in this module. */
#include "_gost_ec.h"

static PyMethodDef methods[] = {
    {"digest", digest, METH_VARARGS, digest_doc},
    {"ec_field", ec_field, METH_VARARGS, ec_field_doc},
    {"ec_table", ec_table, METH_VARARGS, ec_table_doc},
    {"ec_mul_base", ec_mul_base, METH_VARARGS, ec_mul_base_doc},
    {"ec_mul_add", ec_mul_add, METH_VARARGS, ec_mul_add_doc},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    (void)module;
    if (!tables_ready) { /* process-wide, built once under the GIL (16 KB, microseconds) */
        build_tables();
    }
    return 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "providers.upstream.esia._streebog",
    .m_doc = "Native GOST R 34.11-2012 (Streebog) for providers.upstream.esia.streebog, and "
              "GOST R 34.10-2012 point arithmetic for providers.upstream.esia.ec_native.",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__streebog(void)
{
    return PyModuleDef_Init(&module_def);
}
