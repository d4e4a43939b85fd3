-- inside.lua -- the tools that show what a network does (issue 20, "seeing
-- inside"), hung on the library when it loads: dl.gradcheck (gradcheck.lua),
-- dl.graph (graph.lua), dl.pca (pca.lua) and m:hook_activations()
-- (activations.lua). The figures (dl.plot.weights, grads, filters,
-- decision, embedding) are in plot_inside.lua.
local dl = require "dl"

dl.gradcheck = require("dl.gradcheck").gradcheck
dl.graph = require("dl.graph").graph
dl.pca = require("dl.pca").pca
require "dl.activations"

return {}
