-- The newer layer and loss options: bad options are refused with messages
-- that name the layer and the option; a few behaviours PyTorch users rely
-- on (PyTorch's own numbers are checked in nn_vocab_oracle_spec.lua).
local H = require "tests.lua.helper"
local dl = H.dl
local nn = dl.nn
local F = nn.functional

describe("convolution options", function()
    it("refuses bad dilation, groups, padding and padding modes", function()
        H.raises("bad argument #4 to 'Conv2d' (expected the dilation >= 1, got 0)",
                 function() nn.Conv2d(4, 6, 3, {dilation = 0}) end)
        H.raises("bad argument #4 to 'Conv2d' (expected option 'groups' to divide in_channels 4 "
                 .. "and out_channels 6, got 4)", function() nn.Conv2d(4, 6, 3, {groups = 4}) end)
        H.raises("bad argument #4 to 'Conv1d' (expected option 'groups' to divide in_channels 3 "
                 .. "and out_channels 6, got 2)", function() nn.Conv1d(3, 6, 3, {groups = 2}) end)
        H.raises('bad argument #4 to \'Conv2d\' (expected padding_mode "zeros", "reflect", '
                 .. '"replicate" or "circular", got "mirror")',
                 function() nn.Conv2d(4, 6, 3, {padding_mode = "mirror"}) end)
        H.raises('bad argument #4 to \'Conv2d\' (padding "same" needs stride 1, got stride 2)',
                 function() nn.Conv2d(4, 6, 3, {padding = "same", stride = 2}) end)
        H.raises('bad argument #4 to \'Conv1d\' (expected padding as a size, "same" or "valid", got "full")',
                 function() nn.Conv1d(4, 6, 3, {padding = "full"}) end)
        H.raises("bad argument #4 to 'conv2d' (expected groups dividing the 4 input channels and "
                 .. "the 6 output channels, got 3)",
                 function() F.conv2d(dl.ones(1, 4, 5, 5), dl.ones(6, 2, 3, 3), nil, {groups = 3}) end)
        H.raises('bad argument #3 to \'conv2d\' (padding "same" needs stride 1, got stride 2, 2)',
                 function() F.conv2d(dl.ones(1, 4, 5, 5), dl.ones(6, 4, 3, 3), {stride = 2, padding = "same"}) end)
        H.raises("bad argument #1 to 'conv2d' (expected images with 6 channels (3 per group for "
                 .. "weight (4, 3, 3, 3)), got (1, 4, 5, 5))",
                 function() F.conv2d(dl.ones(1, 4, 5, 5), dl.ones(4, 3, 3, 3), nil, {groups = 2}) end)
    end)

    it("keeps the size with padding \"same\" for odd and even kernels, dilated or not", function()
        local x = dl.randn(2, 4, 7, 6)
        for _, k in ipairs{1, 2, 3, 4, {2, 5}} do
            for _, d in ipairs{1, 2} do
                local y = nn.Conv2d(4, 2, k, {padding = "same", dilation = d})(x)
                assert.are.same({2, 2, 7, 6}, y:shape())
            end
        end
        assert.are.same({3, 2, 9}, nn.Conv1d(4, 2, 4, {padding = "same"})(dl.randn(3, 4, 9)):shape())
    end)

    it("gives zero weight gradients for an empty batch through groups", function()
        local conv = nn.Conv2d(4, 4, 3, {groups = 2})
        local y = conv(dl.randn(0, 4, 5, 5))
        assert.are.same({0, 4, 3, 3}, y:shape())
        y:sum():backward()
        assert.equal(0, conv.weight.grad:abs():sum():item())
        assert.equal(0, conv.bias.grad:abs():sum():item())
    end)

    it("pads with F.pad in four modes and refuses pads that do not fit", function()
        local x = dl.tensor{{1, 2, 3}}
        assert.are.same({{3, 2, 1, 2, 3, 2}}, F.pad(x, {2, 1}, {mode = "reflect"}):totable())
        assert.are.same({{1, 1, 1, 2, 3, 3}}, F.pad(x, {2, 1}, {mode = "replicate"}):totable())
        assert.are.same({{2, 3, 1, 2, 3, 1}}, F.pad(x, {2, 1}, {mode = "circular"}):totable())
        assert.are.same({{7, 7, 1, 2, 3, 7}}, F.pad(x, {2, 1}, {value = 7}):totable())
        H.raises("bad argument #2 to 'pad' (reflect padding of 3 does not fit dim 2 of size 3; reflect "
                 .. "needs a pad below the size, replicate a non-empty dim, circular at most the size)",
                 function() F.pad(x, {3, 0}, {mode = "reflect"}) end)
        H.raises('bad argument #3 to \'pad\' (expected mode "constant", "reflect", "replicate" or '
                 .. '"circular", got wrap)', function() F.pad(x, {1, 1}, {mode = "wrap"}) end)
        H.raises("bad argument #2 to 'pad' (expected {left, right} or {left, right, top, bottom}, "
                 .. "got 3 numbers)", function() F.pad(x, {1, 1, 1}) end)
    end)
end)

describe("pooling options", function()
    it("rounds the output size up with ceil_mode but never starts a window in the padding", function()
        local x = dl.randn(1, 1, 5, 5)
        assert.are.same({1, 1, 2, 2}, nn.MaxPool2d(2)(x):shape())
        assert.are.same({1, 1, 3, 3}, nn.MaxPool2d(2, {ceil_mode = true})(x):shape())
        assert.are.same({1, 1, 3, 3}, nn.AvgPool2d(3, {stride = 2, padding = 1, ceil_mode = true})(x):shape())
    end)

    it("averages only the input with count_include_pad = false", function()
        local x = dl.ones(1, 1, 4, 4)
        local y = nn.AvgPool2d(3, {stride = 1, padding = 1, count_include_pad = false})(x)
        assert.equal(16, y:sum():item())
        assert.is_true(nn.AvgPool2d(3, {stride = 1, padding = 1})(x):sum():item() < 16)
    end)

    it("checks the options of the 1-D and adaptive pools", function()
        H.raises("bad argument #2 to 'MaxPool1d' (unknown option 'count_include_pad'; known: "
                 .. "ceil_mode, padding, stride)", function() nn.MaxPool1d(2, {count_include_pad = true}) end)
        H.raises("bad argument #1 to 'MaxPool1d' (expected a sequence batch (N, C, L), got shape (2, 3))",
                 function() nn.MaxPool1d(2)(dl.ones(2, 3)) end)
        H.raises("bad argument #1 to 'AdaptiveAvgPool2d' (expected the output size >= 1, got 0)",
                 function() nn.AdaptiveAvgPool2d(0) end)
        H.raises("bad argument #1 to 'adaptive_max_pool2d' (expected images of shape (N, C, H, W) "
                 .. "with H*W < 2^24, got (3, 4))", function() nn.AdaptiveMaxPool2d(2)(dl.ones(3, 4)) end)
    end)

    it("adaptive average pooling to 1x1 is the mean of each plane", function()
        local x = dl.randn(2, 3, 5, 7)
        local y = nn.AdaptiveAvgPool2d(1)(x)
        local want = x:mean(4):mean(3)
        assert.is_true((y:reshape(2, 3) - want):abs():max():item() < 1e-6)
    end)
end)

describe("upsampling", function()
    it("repeats pixels with nearest and interpolates with bilinear", function()
        local x = dl.tensor{{{{1, 2}, {3, 4}}}}
        assert.are.same({{1, 1, 2, 2}, {1, 1, 2, 2}, {3, 3, 4, 4}, {3, 3, 4, 4}},
                        nn.Upsample{scale_factor = 2}(x)[1][1]:totable())
        local y = F.interpolate(x, {size = 3, mode = "bilinear", align_corners = true})
        assert.are.same({{1, 1.5, 2}, {2, 2.5, 3}, {3, 3.5, 4}}, y[1][1]:totable())
    end)

    it("resizes sequences (N, C, L) with nearest and linear", function()
        local x = dl.tensor{{{1, 2, 4}}}
        assert.are.same({{{1, 1, 2, 2, 4, 4}}}, nn.Upsample{scale_factor = 2}(x):totable())
        assert.are.same({{{1, 1.5, 2, 3, 4}}},
                        F.interpolate(x, {size = 5, mode = "linear", align_corners = true}):totable())
        H.raises('bad argument #2 to \'interpolate\' (expected mode "nearest" or "linear" for sequences '
                 .. '(N, C, L), got bilinear)', function() F.interpolate(x, {size = 4, mode = "bilinear"}) end)
        H.raises("bad argument #1 to 'interpolate' (expected sequences (N, C, L) or images (N, C, H, W), "
                 .. "got (3,))", function() F.interpolate(dl.ones(3), {size = 4}) end)
    end)

    it("refuses unclear options", function()
        H.raises("bad argument #1 to 'Upsample' (align_corners is an option of the modes \"linear\" and \"bilinear\" only)",
                 function() nn.Upsample{scale_factor = 2, align_corners = true} end)
        H.raises("bad argument #1 to 'Upsample' (expected either size or scale_factor, got both)",
                 function() nn.Upsample{scale_factor = 2, size = 4} end)
        H.raises("bad argument #2 to 'interpolate' (expected option size or scale_factor, got neither)",
                 function() F.interpolate(dl.ones(1, 1, 2, 2), {mode = "bilinear"}) end)
        H.raises("bad argument #2 to 'interpolate' (expected scale_factor > 0, got -1)",
                 function() F.interpolate(dl.ones(1, 1, 2, 2), {scale_factor = -1}) end)
    end)
end)

describe("normalisation shapes", function()
    it("BatchNorm1d takes (N, C, L) and LayerNorm several trailing dims", function()
        assert.are.same({4, 3, 5}, nn.BatchNorm1d(3)(dl.randn(4, 3, 5)):shape())
        H.raises("bad argument #1 to 'BatchNorm1d' (expected a 2-D (N, C) or 3-D (N, C, L) input, "
                 .. "got shape (2, 3, 4, 5))", function() nn.BatchNorm1d(3)(dl.randn(2, 3, 4, 5)) end)
        local ln = nn.LayerNorm({3, 4})
        assert.are.same({3, 4}, ln.weight:shape())
        local y = ln(dl.randn(2, 3, 4) * 5 + 2)
        assert.is_true(y:reshape(2, 12):mean(2):abs():max():item() < 1e-5)
        H.raises("bad argument #1 to 'LayerNorm' (expected trailing dims (3, 4), got shape (2, 4, 3))",
                 function() ln(dl.ones(2, 4, 3)) end)
    end)
end)

describe("loss options", function()
    it("refuses bad class-loss options", function()
        local x, y = dl.randn(3, 4), dl.tensor{1, 2, 3}
        H.raises("bad argument #3 to 'cross_entropy' (expected option 'weight' of shape (4,), one per "
                 .. "class, got (3,))", function() nn.cross_entropy(x, y, {weight = dl.ones(3)}) end)
        H.raises("bad argument #3 to 'cross_entropy' (option 'weight' expects a tensor of class "
                 .. "weights, got number)", function() nn.cross_entropy(x, y, {weight = 2}) end)
        H.raises("bad argument #3 to 'cross_entropy' (ignore_index is not supported for probability targets)",
                 function() nn.cross_entropy(x, x:softmax(2), {ignore_index = 1}) end)
        H.raises("bad argument #3 to 'nll_loss' (unknown option 'label_smoothing')", function() nn.nll_loss(x, y, {label_smoothing = 0.1}) end)
        H.raises("bad argument #2 to 'cross_entropy' (expected class labels in 1..4, got 0 at row 1)",
                 function() nn.cross_entropy(x, dl.tensor{0, 1, 2}) end)
        H.raises("bad argument #3 to 'mse_loss' (unknown option 'label_smoothing')",
                 function() nn.mse_loss(x, x, {label_smoothing = 0.1}) end)
    end)

    it("ignores the label given as ignore_index, compared 1-based", function()
        local x = dl.randn(3, 4):requires_grad(true)
        local loss = nn.cross_entropy(x, dl.tensor{1, 2, 2}, {ignore_index = 2})
        assert.is_true(math.abs(loss:item() - nn.cross_entropy(x:narrow(1, 1, 1), dl.tensor{1}):item()) < 1e-6)
        loss:backward()
        assert.equal(0, x.grad[2]:abs():sum():item())
    end)

    it("refuses bad options of the composed losses", function()
        local a, b = dl.randn(2, 3), dl.randn(2, 3)
        H.raises("bad argument #3 to 'huber_loss' (expected option 'delta' > 0, got 0)",
                 function() nn.huber_loss(a, b, {delta = 0}) end)
        H.raises("bad argument #3 to 'smooth_l1_loss' (expected option 'beta' >= 0, got -1)",
                 function() nn.smooth_l1_loss(a, b, {beta = -1}) end)
        H.raises('bad argument #3 to \'kl_div\' (reduction must be "mean", "sum", "none" or "batchmean", got avg)',
                 function() nn.kl_div(a, b, {reduction = "avg"}) end)
        H.raises("bad argument #3 to 'cosine_embedding_loss' (expected targets 1 or -1)",
                 function() nn.cosine_embedding_loss(a, b, dl.tensor{1, 0}) end)
        H.raises("bad argument #3 to 'bce_with_logits' (expected option 'pos_weight' broadcastable to "
                 .. "(2, 3), got (2,))",
                 function() nn.bce_with_logits(a, b:sigmoid(), {pos_weight = dl.ones(2)}) end)
        H.raises("bad argument #2 to 'huber_loss' (expected a target of the prediction's shape (2, 3), got (3,))",
                 function() nn.huber_loss(a, dl.ones(3)) end)
    end)
end)
