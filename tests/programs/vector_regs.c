/* vector_regs: keeps values in vector and x87 registers across syscalls.
 * One asm block loads xmm8-15 (ymm8-15 where the CPU has AVX, and zmm16-31
 * where it has AVX-512) and st(0), makes 120 getpid syscalls, adding one to
 * every lane after each, and stores the registers back; nothing in between
 * touches them, so every syscall event sees them live. Prints sums of what
 * came back, which depend on every lane having survived each syscall. */
#include <stdint.h>
#include <stdio.h>

#define ROUNDS 120

static void sse_rounds(const uint32_t in[32], uint32_t out[32], const double* x87_in, double* x87_out)
{
    int n = ROUNDS;
    __asm__ volatile(
        "fldl (%[xi])\n\t"
        "movdqu 0(%[in]), %%xmm8\n\t"
        "movdqu 16(%[in]), %%xmm9\n\t"
        "movdqu 32(%[in]), %%xmm10\n\t"
        "movdqu 48(%[in]), %%xmm11\n\t"
        "movdqu 64(%[in]), %%xmm12\n\t"
        "movdqu 80(%[in]), %%xmm13\n\t"
        "movdqu 96(%[in]), %%xmm14\n\t"
        "movdqu 112(%[in]), %%xmm15\n\t"
        "pcmpeqd %%xmm7, %%xmm7\n\t"
        "1:\n\t"
        "mov $39, %%eax\n\t"
        "syscall\n\t"
        "psubd %%xmm7, %%xmm8\n\t"
        "psubd %%xmm7, %%xmm9\n\t"
        "psubd %%xmm7, %%xmm10\n\t"
        "psubd %%xmm7, %%xmm11\n\t"
        "psubd %%xmm7, %%xmm12\n\t"
        "psubd %%xmm7, %%xmm13\n\t"
        "psubd %%xmm7, %%xmm14\n\t"
        "psubd %%xmm7, %%xmm15\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "movdqu %%xmm8, 0(%[out])\n\t"
        "movdqu %%xmm9, 16(%[out])\n\t"
        "movdqu %%xmm10, 32(%[out])\n\t"
        "movdqu %%xmm11, 48(%[out])\n\t"
        "movdqu %%xmm12, 64(%[out])\n\t"
        "movdqu %%xmm13, 80(%[out])\n\t"
        "movdqu %%xmm14, 96(%[out])\n\t"
        "movdqu %%xmm15, 112(%[out])\n\t"
        "fstpl (%[xo])\n\t"
        : [n] "+r"(n)
        : [in] "r"(in), [out] "r"(out), [xi] "r"(x87_in), [xo] "r"(x87_out)
        : "rax", "rcx", "r11", "memory", "cc", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
          "xmm14", "xmm15", "st");
}

__attribute__((target("avx"), noinline)) static void avx_rounds(const uint32_t in[64], uint32_t out[64])
{
    int n = ROUNDS;
    __asm__ volatile(
        "vmovdqu 0(%[in]), %%ymm8\n\t"
        "vmovdqu 32(%[in]), %%ymm9\n\t"
        "vmovdqu 64(%[in]), %%ymm10\n\t"
        "vmovdqu 96(%[in]), %%ymm11\n\t"
        "vmovdqu 128(%[in]), %%ymm12\n\t"
        "vmovdqu 160(%[in]), %%ymm13\n\t"
        "vmovdqu 192(%[in]), %%ymm14\n\t"
        "vmovdqu 224(%[in]), %%ymm15\n\t"
        "vpcmpeqd %%ymm7, %%ymm7, %%ymm7\n\t"
        "1:\n\t"
        "mov $39, %%eax\n\t"
        "syscall\n\t"
        "vpsubd %%ymm7, %%ymm8, %%ymm8\n\t"
        "vpsubd %%ymm7, %%ymm9, %%ymm9\n\t"
        "vpsubd %%ymm7, %%ymm10, %%ymm10\n\t"
        "vpsubd %%ymm7, %%ymm11, %%ymm11\n\t"
        "vpsubd %%ymm7, %%ymm12, %%ymm12\n\t"
        "vpsubd %%ymm7, %%ymm13, %%ymm13\n\t"
        "vpsubd %%ymm7, %%ymm14, %%ymm14\n\t"
        "vpsubd %%ymm7, %%ymm15, %%ymm15\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vmovdqu %%ymm8, 0(%[out])\n\t"
        "vmovdqu %%ymm9, 32(%[out])\n\t"
        "vmovdqu %%ymm10, 64(%[out])\n\t"
        "vmovdqu %%ymm11, 96(%[out])\n\t"
        "vmovdqu %%ymm12, 128(%[out])\n\t"
        "vmovdqu %%ymm13, 160(%[out])\n\t"
        "vmovdqu %%ymm14, 192(%[out])\n\t"
        "vmovdqu %%ymm15, 224(%[out])\n\t"
        "vzeroupper\n\t"
        : [n] "+r"(n)
        : [in] "r"(in), [out] "r"(out)
        : "rax", "rcx", "r11", "memory", "cc", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
          "xmm14", "xmm15");
}

/* zmm16-31 and the mask registers k1-k2 (XSAVE components 5 to 7). */
__attribute__((target("avx512f"), noinline)) static void avx512_rounds(const uint32_t in[256], uint32_t out[256], uint16_t* mask_out)
{
    int n = ROUNDS;
    __asm__ volatile(
        "vmovdqu32 0(%[in]), %%zmm16\n\t"
        "vmovdqu32 64(%[in]), %%zmm17\n\t"
        "vmovdqu32 128(%[in]), %%zmm18\n\t"
        "vmovdqu32 192(%[in]), %%zmm19\n\t"
        "vmovdqu32 256(%[in]), %%zmm20\n\t"
        "vmovdqu32 320(%[in]), %%zmm21\n\t"
        "vmovdqu32 384(%[in]), %%zmm22\n\t"
        "vmovdqu32 448(%[in]), %%zmm31\n\t"
        "vpternlogd $0xff, %%zmm23, %%zmm23, %%zmm23\n\t"
        "mov $0x5a5a, %%eax\n\t"
        "kmovw %%eax, %%k1\n\t"
        "1:\n\t"
        "mov $39, %%eax\n\t"
        "syscall\n\t"
        "vpsubd %%zmm23, %%zmm16, %%zmm16\n\t"
        "vpsubd %%zmm23, %%zmm17, %%zmm17\n\t"
        "vpsubd %%zmm23, %%zmm18, %%zmm18\n\t"
        "vpsubd %%zmm23, %%zmm19, %%zmm19\n\t"
        "vpsubd %%zmm23, %%zmm20, %%zmm20\n\t"
        "vpsubd %%zmm23, %%zmm21, %%zmm21\n\t"
        "vpsubd %%zmm23, %%zmm22, %%zmm22\n\t"
        "vpsubd %%zmm23, %%zmm31, %%zmm31\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vmovdqu32 %%zmm16, 0(%[out])\n\t"
        "vmovdqu32 %%zmm17, 64(%[out])\n\t"
        "vmovdqu32 %%zmm18, 128(%[out])\n\t"
        "vmovdqu32 %%zmm19, 192(%[out])\n\t"
        "vmovdqu32 %%zmm20, 256(%[out])\n\t"
        "vmovdqu32 %%zmm21, 320(%[out])\n\t"
        "vmovdqu32 %%zmm22, 384(%[out])\n\t"
        "vmovdqu32 %%zmm31, 448(%[out])\n\t"
        "kmovw %%k1, %%eax\n\t"
        "mov %%ax, (%[mask])\n\t"
        "vzeroupper\n\t"
        : [n] "+r"(n)
        : [in] "r"(in), [out] "r"(out), [mask] "r"(mask_out)
        : "rax", "rcx", "r11", "memory", "cc", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
          "xmm23", "xmm31", "k1");
}

/* Whether every lane came back as its input plus ROUNDS. */
static const char* verdict(const uint32_t* in, const uint32_t* out, int lanes)
{
    for (int i = 0; i < lanes; i++)
        if (out[i] != in[i] + ROUNDS)
            return "lost";
    return "kept";
}

int main(void)
{
    static uint32_t in[256], out[256];
    for (int i = 0; i < 256; i++)
        in[i] = 0x1000u * (uint32_t)i + 7u;
    double pi = 3.14159265358979, pi_back = 0;
    sse_rounds(in, out, &pi, &pi_back);
    printf("xmm8-15: %s, st(0): %s\n", verdict(in, out, 32), pi_back == pi ? "kept" : "lost");
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx")) {
        avx_rounds(in, out);
        printf("ymm8-15: %s\n", verdict(in, out, 64));
    } else {
        printf("ymm8-15: no AVX here\n");
    }
    if (__builtin_cpu_supports("avx512f")) {
        uint16_t mask = 0;
        avx512_rounds(in, out, &mask);
        printf("zmm16-22,31: %s, k1: %s\n", verdict(in, out, 128), mask == 0x5a5a ? "kept" : "lost");
    } else {
        printf("zmm16-22,31: no AVX-512 here\n");
    }
    return 0;
}
