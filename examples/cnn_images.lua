-- cnn_images.lua -- a convolutional network that tells circles from
-- squares, trained with model:fit on a folder of class folders, with
-- random flips, shifts and turns of the training images.
--
--   dlrepl examples/cnn_images.lua [--quick] [DIR]
--
-- The pictures are made first by examples/make_shapes.lua, into DIR
-- (default build/shapes of this repository): DIR/circle/*.bmp and
-- DIR/square/*.bmp, 32 x 32 gray. Any folder of class folders of images
-- works the same way (dl.data.images). --quick uses fewer and smaller
-- pictures (16 x 16) and fewer epochs (the test suite runs it so).
dl.manual_seed(0)
local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local quick = arg and arg[1] == "--quick"
local dir = arg and arg[quick and 2 or 1] or here .. "/../build/shapes"

-- 1. The pictures, read as a dataset: one gray channel, labels 1 (circle)
--    and 2 (square), named after the folders.
local size = quick and 16 or 32
dofile(here .. "/make_shapes.lua")(dir, quick and 100 or 300)
local images = dl.data.images(dir, {gray = true, size = {size, size}})
local train, test = images:split(0.8, {stratify = true, seed = 1})
print(("%d pictures to learn from, %d to test on; classes %s"):format(#train, #test,
      table.concat(images.classes, ", ")))

-- 2. Three convolution + pooling stages (each halves the picture: 32 ->
--    16 -> 8 -> 4 pixels), a dense layer of 512, and one sigmoid output:
--    the probability of a square.
local model = nn.Sequential{
    nn.Conv2d(1, 16, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(64 * (size // 8) * (size // 8), 512), nn.ReLU(),
    nn.Linear(512, 1), nn.Sigmoid(),
}

-- 3. Train: each batch of training pictures is mirrored and shifted by up
--    to 2 pixels at random, so the network learns shapes, not positions.
local hist = model:fit(train, {
    epochs = quick and 20 or 12, batch_size = 16,
    loss = "bce", optimizer = "adam", lr = 2e-3, metrics = {"accuracy"},
    validation = test,
    augment = dl.data.augment{flip = true, crop = 2},
})
print(hist)

-- 4. Pictures the network never saw.
local result = model:evaluate(test)
print(("\ntest loss %.4f, test accuracy %.3f"):format(result.loss, result.accuracy))
