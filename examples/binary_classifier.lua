-- binary_classifier.lua -- is a breast tumour malignant? The classic Keras
-- tutorial system, trained with model:fit.
--
--   dlrepl examples/binary_classifier.lua [--quick]
--
-- examples/data/breast_cancer.csv is the Wisconsin Diagnostic Breast Cancer
-- table (W. H. Wolberg, W. N. Street, O. L. Mangasarian; UCI Machine
-- Learning Repository, CC BY 4.0), as scikit-learn ships it: 569 tumours,
-- 30 measurements of their cell nuclei, and the diagnosis, M (malignant)
-- or B (benign). --quick trains for fewer epochs (the test suite runs it so).
dl.manual_seed(42)
local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local quick = arg and arg[1] == "--quick"

-- 1. Load, split (stratified: both parts keep the share of malignant
--    tumours), and standardize with the training set's statistics.
local data = dl.data.csv(here .. "/data/breast_cancer.csv", {target = "diagnosis"})
local train, test = data:split(0.8, {stratify = true, seed = 1})
train:standardize()
test:standardize(train)
print(("%d tumours to learn from, %d to test on; classes %s (1) and %s (2)"):format(
    #train, #test, data.classes[1], data.classes[2]))

-- 2. The model: one sigmoid output, the probability of the second class
--    (M, malignant). Dropout fights over-fitting on this small table.
local model = nn.Sequential{
    nn.Linear(30, 64), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(32, 1), nn.Sigmoid(),
}

-- 3. Train with binary cross-entropy and Adam; hold the last 20% of the
--    training rows out for validation; stop when the validation loss has
--    not improved for 10 epochs, and keep the best model in a file.
--    Labels 1 (B) and 2 (M) are read as 0 and 1 by the bce loss.
local scratch = os.tmpname()
local best_path = scratch .. "-best.safetensors"
local hist = model:fit(train, {
    epochs = quick and 30 or 200, batch_size = 32,
    loss = "bce", optimizer = "adam", lr = 1e-3,
    metrics = {"accuracy"}, validation_split = 0.2,
    callbacks = {
        nn.callbacks.early_stopping{monitor = "val_loss", patience = 10},
        nn.callbacks.checkpoint{path = best_path, monitor = "val_loss", save_best_only = true},
    },
})
print(hist)

-- 4. Test the best model (loaded back from its file) on tumours it never saw.
local best = nn.load(best_path)
os.remove(best_path)
os.remove(scratch)
local probability = best:predict(test):reshape(#test)
local predicted = probability:gt(0.5)
local truth = test.y - 1                       -- 0 benign, 1 malignant
print(("\ntest accuracy %.3f"):format(dl.metrics.accuracy(predicted, truth)))
print(dl.metrics.classification_report(predicted, truth, {target_names = {"benign", "malignant"}}))

-- 5. The curves: losses above, accuracies below (text when there is no window).
dl.plot(hist)
