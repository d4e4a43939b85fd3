-- data.lua -- dl.data: loaders that turn files into datasets.
--
--   dl.data.csv(path, {target=, header=true, sep=",", missing="error",
--                      one_hot=false, classes=})                  -> dataset
--   dl.data.idx(path)                          -> tensor (any IDX file)
--   dl.data.mnist(dir)                         -> train, test (byte-backed)
--   dl.data.fashion_mnist([dir])               -> train, test, from Debian's copy
--   dl.data.image(path, {gray=, size={h, w}})  -> C x H x W tensor in [0, 1]
--   dl.data.images(dir, {gray=, size=, skip_errors=false})  -> dataset
--   dl.data.dataset(x, y, {classes=, features=}) -> dataset from tensors
--   dl.data.augment{flip=, crop=, rotate=, translate=, brightness=}
--
-- The readers themselves are C (core/io, bound in bindings/ldata.c); this
-- file finds files, checks arguments and builds Dataset objects
-- (dataset.lua). docs/data.md is the user's guide.
local dl = require "dl"
local raise = require("dl.errors").raise
local read = require "dl.readers"   -- C; errors name the user's line (lerror.c)
local Dataset = require "dl.dataset"
local augment = require "dl.augment"

local data = {Dataset = Dataset, is_dataset = Dataset.is_dataset, augment = augment.new}
data.text = require("dl.text").text   -- text.lua: vocabularies and next-token windows

local FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
local FASHION_MNIST_CLASSES = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}
local IMAGE_EXTENSIONS = {png = true, jpg = true, jpeg = true, bmp = true, gif = true}

local function argerror(n, fn, fmt, ...)
    raise(("bad argument #%d to '%s' (%s)"):format(n, fn, fmt:format(...)))
end

-- Every path dl.data reads is checked here: a string, with no NUL byte
-- (the C library would read the file named by what comes before it).
local function check_path(path, fn)
    if type(path) ~= "string" then argerror(1, fn, "expected a path, got %s", type(path)) end
    if path:find("\0", 1, true) then
        argerror(1, fn, "expected a path, got a string with a NUL byte ('%s\\0...')",
                 path:sub(1, path:find("\0", 1, true) - 1))
    end
end

-- dl.data.csv(path, opts) -> dataset. opts: target (a column name or
-- 1-based number; -1 is the last), header (true), sep (","), missing
-- ("error" | "mean" | "zero" | "drop"), one_hot (true, or a list of
-- columns), classes (true: the target holds classes even when numeric; or
-- the list of class names to use, so that two files number them alike).
function data.csv(path, opts)
    check_path(path, "csv")
    local x, y, info = read.csv(path, opts)
    return Dataset.new{x = x, y = y, classes = info.classes, features = info.features,
                       target = info.target}
end

-- dl.data.idx(path) -> float tensor of the IDX file's shape and values.
function data.idx(path)
    check_path(path, "idx")
    return read.idx(path)
end

local function exists(path)
    local f = io.open(path, "rb")
    if f then f:close() end
    return f ~= nil
end

-- The path of an MNIST-layout file in dir: name, name.gz, or the variant
-- with a dot before "idx" (train-images.idx3-ubyte).
local function find_idx(dir, name, fn)
    local dotted = name:gsub("%-idx", ".idx")
    for _, candidate in ipairs{name, name .. ".gz", dotted, dotted .. ".gz"} do
        local path = dir .. "/" .. candidate
        if exists(path) then return path end
    end
    argerror(1, fn, "no '%s' or '%s.gz' in '%s'", name, name, dir)
end

-- One split (prefix "train" or "t10k") of an MNIST-layout folder.
local function idx_split(dir, prefix, classes, fn)
    local images_path = find_idx(dir, prefix .. "-images-idx3-ubyte", fn)
    local labels_path = find_idx(dir, prefix .. "-labels-idx1-ubyte", fn)
    local x = read.idx_bytes(images_path, 1 / 255)
    local labels = read.idx(labels_path)
    local shape = x:shape()
    if #shape ~= 3 then
        raise(("%s: expected images N x H x W, got %d dims"):format(images_path, #shape))
    end
    x:reshape_{shape[1], 1, shape[2], shape[3]}
    if labels:dim() ~= 1 or #labels ~= shape[1] then
        raise(("%s: %d labels for the %d images of %s"):format(labels_path, labels:numel(),
              shape[1], images_path))
    end
    if classes == nil then
        classes = {}
        for c = 0, labels:max():item() do classes[c + 1] = tostring(c) end
    end
    return Dataset.new{x = x, y = labels + 1, classes = classes}
end

-- dl.data.mnist(dir) -> train, test: the four IDX files of MNIST's layout
-- (gzip or plain) in dir; images N x 1 x H x W in [0, 1] kept as bytes,
-- labels 1..C, classes "0".."9".
function data.mnist(dir, classes)
    check_path(dir, "mnist")
    return idx_split(dir, "train", classes, "mnist"), idx_split(dir, "t10k", classes, "mnist")
end

-- dl.data.fashion_mnist([dir]) -> train, test: Fashion-MNIST from Debian's
-- dataset-fashion-mnist package (or dir), with its class names.
function data.fashion_mnist(dir)
    dir = dir or FASHION_MNIST_DIR
    check_path(dir, "fashion_mnist")
    if not exists(dir .. "/train-images-idx3-ubyte.gz") and
       not exists(dir .. "/train-images-idx3-ubyte") then
        raise(("fashion_mnist: Fashion-MNIST is not in '%s'; install it with\n" ..
               "    sudo apt-get install dataset-fashion-mnist\n" ..
               "or pass the folder holding its four IDX files"):format(dir))
    end
    return data.mnist(dir, FASHION_MNIST_CLASSES)
end

-- dl.data.image(path, {gray=, size={h, w}}) -> C x H x W tensor in [0, 1].
-- gray = true gives 1 channel, false 3; by default, as the file stores it.
function data.image(path, opts)
    check_path(path, "image")
    return read.image(path, opts)
end

-- Sorted names of the entries of dir that are folders (want_dirs) or
-- image files.
local function entries(dir, want_dirs)
    local names, is_dir = read.list_dir(dir, "images")
    local out = {}
    for i, name in ipairs(names) do
        local ext = name:match("%.([^.]+)$")
        if (want_dirs and is_dir[i]) or
           (not want_dirs and not is_dir[i] and ext and IMAGE_EXTENSIONS[ext:lower()]) then
            out[#out + 1] = name
        end
    end
    table.sort(out)
    return out
end

-- dl.data.images(dir, {size={h, w}, gray=, skip_errors=false}) -> dataset
-- of the images in dir/<class>/ (.png .jpg .jpeg .bmp .gif), classes named
-- after the folders, sorted. Images are kept as bytes. Without size every
-- image must have the first one's size; without gray the first image's
-- channel count is used. A file that cannot be read is an error naming it,
-- or with skip_errors is left out and listed in ds.skipped.
function data.images(dir, opts)
    check_path(dir, "images")
    if opts ~= nil and type(opts) ~= "table" then
        argerror(2, "images", "expected an options table, got %s", type(opts))
    end
    opts = opts or {}
    for key in pairs(opts) do
        if key ~= "size" and key ~= "gray" and key ~= "skip_errors" then
            argerror(2, "images", "unknown option '%s'", tostring(key))
        end
    end
    local classes, paths, labels = entries(dir, true), {}, {}
    if #classes == 0 then
        argerror(1, "images", "no class folders in '%s' (expected %s/<class>/*.png)", dir, dir)
    end
    for c, class in ipairs(classes) do
        for _, file in ipairs(entries(dir .. "/" .. class, false)) do
            paths[#paths + 1] = dir .. "/" .. class .. "/" .. file
            labels[#labels + 1] = c
        end
    end
    if #paths == 0 then
        argerror(1, "images", "no image files in the class folders of '%s'", dir)
    end
    local x, kept, failures = read.images(paths, {size = opts.size, gray = opts.gray,
                                                      skip = opts.skip_errors})
    local y = {}
    for i, k in ipairs(kept) do y[i] = labels[k] end
    return Dataset.new{x = x, y = dl.tensor(y), classes = classes, skipped = failures}
end

-- dl.data.dataset(x, y, {classes=, features=}) -> dataset over tensors
-- (y may be nil; classes names the labels 1..C).
function data.dataset(x, y, opts)
    if not (dl.is_tensor(x) and x:dim() > 0 or Dataset.is_bytes(x)) then
        argerror(1, "dataset", "expected a tensor with rows, got %s",
                 dl.is_tensor(x) and "a 0-d tensor" or type(x))
    end
    if y ~= nil and not (dl.is_tensor(y) and y:dim() == 1) then
        argerror(2, "dataset", "expected a 1-D tensor of targets, got %s",
                 dl.is_tensor(y) and y:dim() .. " dims" or type(y))
    end
    if y ~= nil and #y ~= #x then
        argerror(2, "dataset", "expected %d targets (one per row of x), got %d", #x, #y)
    end
    if opts ~= nil and type(opts) ~= "table" then
        argerror(3, "dataset", "expected an options table, got %s", type(opts))
    end
    opts = opts or {}
    return Dataset.new{x = x, y = y, classes = opts.classes, features = opts.features}
end

return data
