/*
 * stb_image_impl.c -- stb_image's decoders compiled from Debian's header,
 * for the fuzz build only: the fuzzer then sees (and sanitizes) the code
 * that libstb.so runs in the real build.
 */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
