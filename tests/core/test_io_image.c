/* test_io_image.c -- image decoding (PNG, JPEG, BMP, GIF through stb_image),
 * channel choice, bilinear resizing, the affine warp of augmentation, and
 * a table of corrupt and unreadable files. Fixtures: tests/data/images/. */
#include <stdio.h>

#include "helpers.h"
#include "io/io.h"

#define FIXTURES "tests/data/images/"
#define BYTES_OF(...) ((const uint8_t[]){__VA_ARGS__})

/* A 24-bit BMP of w x h pixels whose (row, col) pixel is rgb(row, col). */
static size_t make_bmp(uint8_t *out, int w, int h, void (*rgb)(int, int, uint8_t *))
{
    int stride = (3 * w + 3) & ~3;
    size_t size = 54 + (size_t)stride * (size_t)h;
    memset(out, 0, size);
    uint32_t fields[] = {(uint32_t)size, 0, 54, 40, (uint32_t)w, (uint32_t)h};
    out[0] = 'B';
    out[1] = 'M';
    for (int i = 0; i < 6; i++)
        memcpy(out + 2 + 4 * i, &fields[i], 4);
    out[26] = 1;                        /* planes */
    out[28] = 24;                       /* bits per pixel */
    for (int row = 0; row < h; row++) {
        for (int col = 0; col < w; col++) {
            uint8_t px[3];
            rgb(row, col, px);
            uint8_t *p = out + 54 + (size_t)(h - 1 - row) * (size_t)stride + 3 * (size_t)col;
            p[0] = px[2];
            p[1] = px[1];
            p[2] = px[0];
        }
    }
    return size;
}

static void gradient(int row, int col, uint8_t *px)
{
    px[0] = (uint8_t)(10 * row + col);
    px[1] = (uint8_t)(100 + col);
    px[2] = (uint8_t)(200 - row);
}

static void decodes_bmp_into_channel_planes(void **state)
{
    uint8_t file[256];
    size_t size = make_bmp(file, 3, 2, gradient);
    dl_image img;
    assert_int_equal(dl_image_decode("t.bmp", file, size, 0, &img), DL_OK);
    assert_int_equal(img.channels, 3);
    assert_int_equal(img.height, 2);
    assert_int_equal(img.width, 3);
    assert_memory_equal(img.data, BYTES_OF(0, 1, 2, 10, 11, 12, 100, 101, 102, 100, 101, 102,
                                           200, 200, 200, 199, 199, 199), 18);
    dl_image_free(&img);
    assert_int_equal(dl_image_decode("t.bmp", file, size, 1, &img), DL_OK);
    assert_int_equal(img.channels, 1);
    dl_image_free(&img);
}

static void reads_png_gif_jpeg_fixtures(void **state)
{
    static const uint8_t red_green_blue[] = {255, 0, 0, 0, 255, 0, 0, 0, 255};
    const char *lossless[] = {FIXTURES "rgb.png", FIXTURES "rgb.bmp", FIXTURES "rgb.gif",
                              FIXTURES "rgba.png"};
    for (int i = 0; i < 4; i++) {
        dl_image img;
        assert_int_equal(dl_image_load("image", lossless[i], 0, &img), DL_OK);
        assert_int_equal(img.channels, 3);
        assert_int_equal(img.height, 2);
        assert_int_equal(img.width, 3);
        /* first row: red, green, blue; planes R, G, B */
        for (int c = 0; c < 3; c++)
            for (int x = 0; x < 3; x++)
                assert_int_equal(img.data[c * 6 + x], red_green_blue[3 * x + c]);
        dl_image_free(&img);
    }
    dl_image img;
    assert_int_equal(dl_image_load("image", FIXTURES "gray.png", 0, &img), DL_OK);
    assert_int_equal(img.channels, 1);
    dl_image_free(&img);
    assert_int_equal(dl_image_load("image", FIXTURES "gray.png", 3, &img), DL_OK);
    assert_int_equal(img.channels, 3);
    dl_image_free(&img);
    assert_int_equal(dl_image_load("image", FIXTURES "progressive.jpg", 0, &img), DL_OK);
    assert_int_equal(img.width, 12);
    assert_int_equal(img.height, 10);
    dl_image_free(&img);
    assert_int_equal(dl_image_load("image", FIXTURES "flat.jpg", 0, &img), DL_OK);
    assert_int_equal(img.channels, 3);
    assert_int_equal(img.width, 8);
    assert_true(abs(img.data[0] - 200) <= 3 && abs(img.data[64] - 100) <= 3);
    dl_image_free(&img);
}

static void resize_is_bilinear_with_half_pixel_centres(void **state)
{
    uint8_t square[16] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150};
    dl_image in = {1, 4, 4, square}, out;
    /* halving averages each 2x2 block's centre */
    assert_int_equal(dl_image_resize(&in, 2, 2, &out), DL_OK);
    assert_memory_equal(out.data, BYTES_OF(25, 45, 105, 125), 4);
    dl_image_free(&out);
    /* doubling a 2x2: positions -0.25 (clamped), 0.25, 0.75, 1.25 (clamped) */
    uint8_t small[4] = {0, 100, 200, 240};
    dl_image in2 = {1, 2, 2, small};
    assert_int_equal(dl_image_resize(&in2, 4, 4, &out), DL_OK);
    assert_memory_equal(out.data, BYTES_OF(0, 25, 75, 100, 50, 71, 114, 135, 150, 164, 191,
                                           205, 200, 210, 230, 240), 16);
    dl_image_free(&out);
    assert_int_equal(dl_image_resize(&in2, 0, 4, &out), DL_ERR_ARGUMENT);
    expect_error("bad size 0x4 to resize to");
}

static void warp_flips_and_shifts_exactly(void **state)
{
    dl_tensor *x = TENSOR(4, SHAPE(2, 1, 2, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), *out;
    const float theta[12] = {-1, 0, 2, 0, 1, 0,       /* image 1: mirror left-right */
                             1, 0, 1, 0, 1, -1};      /* image 2: left 1, down 1 */
    assert_int_equal(dl_warp_affine(x, theta, -1, &out), DL_OK);
    expect_tensor(out, 4, SHAPE(2, 1, 2, 3),
                  VALUES(3, 2, 1, 6, 5, 4, -1, -1, -1, 8, 9, -1), 0);
    dl_release(out);
    const float half[12] = {1, 0, 0.5f, 0, 1, 0, 1, 0, 0, 0, 1, 0};
    assert_int_equal(dl_warp_affine(x, half, 0, &out), DL_OK);
    expect_tensor(out, 4, SHAPE(2, 1, 2, 3),
                  VALUES(1.5f, 2.5f, 1.5f, 4.5f, 5.5f, 3, 7, 8, 9, 10, 11, 12), 1e-6f);
    dl_release(out);
    dl_tensor *flat = TENSOR(2, SHAPE(1, 2), 1, 2);
    assert_int_equal(dl_warp_affine(flat, theta, 0, &out), DL_ERR_SHAPE);
    expect_error("expected images N x C x H x W, got shape (1, 2)");
    dl_release(flat);
    dl_release(x);
}

/* Corrupt, truncated, unknown and unreadable files: errors naming them. */
static void malformed_files_name_the_file(void **state)
{
    static const struct {
        const char *path;
        dl_status status;
        const char *message;
    } cases[] = {
        {FIXTURES "empty.png", DL_ERR_ARGUMENT, "tests/data/images/empty.png: the file is empty"},
        {FIXTURES "not_an_image.png", DL_ERR_ARGUMENT, "not_an_image.png: byte 0: not a PNG, "
                                                       "JPEG, BMP or GIF image"},
        {FIXTURES "truncated.png", DL_ERR_ARGUMENT, "truncated.png: truncated PNG image (the chunk at "
                                                  "byte 33 does not end in the file's 40 bytes)"},
        {FIXTURES "corrupt.png", DL_ERR_ARGUMENT, "corrupt.png: corrupt PNG image"},
        {FIXTURES "bad_huffman.jpg", DL_ERR_ARGUMENT, "bad_huffman.jpg: byte 345: corrupt JPEG "
                                                      "image (a Huffman table with"},
        {FIXTURES "undefined_table.jpg", DL_ERR_ARGUMENT, "undefined_table.jpg: byte 256: "
                                                          "corrupt JPEG image (a scan uses "
                                                          "Huffman table AC 0 before it is "
                                                          "defined)"},
        {FIXTURES "missing.png", DL_ERR_IO, "bad argument #1 to 'image' (cannot open "
                                            "'tests/data/images/missing.png': No such file"},
        {FIXTURES, DL_ERR_IO, "Is a directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dl_image img = {0};
        if (dl_image_load("image", cases[i].path, 0, &img) != cases[i].status)
            fail_msg("%s: want status %d (\"%s\"), got \"%s\"", cases[i].path,
                     cases[i].status, cases[i].message, dl_error());
        expect_error(cases[i].message);
        assert_null(img.data);
    }
    uint8_t file[256];
    size_t size = make_bmp(file, 3, 2, gradient);
    dl_image img;
    assert_int_equal(dl_image_decode("cut.bmp", file, size - 4, 0, &img), DL_ERR_ARGUMENT);
    expect_error("cut.bmp: truncated BMP image (3x2 pixels need 78 bytes, the file has 74)");
    uint8_t gif[128];
    FILE *f = fopen(FIXTURES "rgb.gif", "rb");
    assert_non_null(f);
    size_t gif_size = fread(gif, 1, sizeof gif, f);
    fclose(f);
    assert_int_equal(dl_image_decode("cut.gif", gif, gif_size - 6, 0, &img), DL_ERR_ARGUMENT);
    expect_error("cut.gif: truncated GIF image (its first frame does not end in the file's");
    int32_t huge = 100000;
    memcpy(file + 18, &huge, 4);
    memcpy(file + 22, &huge, 4);
    assert_int_equal(dl_image_decode("big.bmp", file, size, 0, &img), DL_ERR_ARGUMENT);
    expect_error("big.bmp: ");
    assert_int_equal(dl_image_decode("x.tga", "\0\0\2\0\0\0\0\0", 8, 0, &img), DL_ERR_ARGUMENT);
    expect_error("x.tga: byte 0: not a PNG, JPEG, BMP or GIF image");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_bmp_into_channel_planes),
        cmocka_unit_test(reads_png_gif_jpeg_fixtures),
        cmocka_unit_test(resize_is_bilinear_with_half_pixel_centres),
        cmocka_unit_test(warp_flips_and_shifts_exactly),
        cmocka_unit_test(malformed_files_name_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
