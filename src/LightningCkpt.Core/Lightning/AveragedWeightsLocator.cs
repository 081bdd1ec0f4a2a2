using System;
using System.Collections.Generic;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Lightning
{
    /// <summary>An EMA / SWA copy of the model weights kept in a checkpoint beside (or instead of) the model's own.</summary>
    public sealed class AveragedWeights
    {
        public AveragedWeights(string location, IReadOnlyList<NamedTensor> weights)
        {
            Location = location;
            Weights = weights;
        }

        /// <summary>Where it was found: callbacks/EMA/ema_state_dict, state_dict_ema, state_dict/model_ema.* …</summary>
        public string Location { get; }

        /// <summary>The averaged tensors, named as the model's (a wrapping 'module.' and the name prefix removed).</summary>
        public IReadOnlyList<NamedTensor> Weights { get; }

        public override string ToString() => $"{Location} ({Weights.Count} tensors)";
    }

    /// <summary>
    /// Finds averaged copies of the weights by what the file holds, not by callback class names: a dict of tensors
    /// in a callback's state or at the top level whose key says ema/swa/average or whose names are mostly the model's
    /// (Lightning EMA callbacks' ema_state_dict, StochasticWeightAveraging's average_model_state, timm's
    /// state_dict_ema); names under a model_ema./ema_model./swa_model. prefix inside the weights (a module holding a
    /// timm ModelEmaV2 or torch AveragedModel); and Lightning's WeightAveraging layout, whose state_dict is the
    /// average (the current weights are in current_model_state).
    /// </summary>
    public static class AveragedWeightsLocator
    {
        private static readonly string[] Prefixes = { "model_ema.", "ema_model.", "ema.", "swa_model.", "model_swa.", "averaged_model.", "average_model." };

        /// <summary>Whether a weight name belongs to an averaged copy held inside the weights (model_ema.* …).</summary>
        public static bool IsAveragedName(string name) => PrefixOf(name) != null;

        private static string? PrefixOf(string name)
        {
            foreach (var p in Prefixes) if (name.StartsWith(p, StringComparison.Ordinal) && name.Length > p.Length) return p;
            return null;
        }

        public static IReadOnlyList<AveragedWeights> Find(object? root, CheckpointView view)
        {
            var found = new List<AveragedWeights>();
            var modelNames = new HashSet<string>(StringComparer.Ordinal);
            foreach (var w in view.Weights) if (!IsAveragedName(w.Name)) modelNames.Add(Unwrapped(w.Name));
            if (root is PyDict top)
            {
                if (top.ContainsKey("current_model_state") && view.WeightsPath == "state_dict" && view.Weights.Count > 0)
                    found.Add(new AveragedWeights("state_dict (WeightAveraging average; current weights in current_model_state)", view.Weights));
                if (top.Get("callbacks") is PyDict callbacks)
                    foreach (var cb in callbacks)
                        if (cb.Value is PyDict state)
                        {
                            string cbName = CallbackState.From(cb.Key, null).Name;
                            Scan(state, "callbacks/" + cbName, modelNames, found, 0);
                        }
                foreach (var e in top)
                {
                    string key = PyRepr.KeySegment(e.Key);
                    if (key == view.WeightsPath || key == "callbacks" || key == "current_model_state" || key == "optimizer_states") continue;
                    if (e.Value is PyDict d && Candidate(key, d, modelNames) is { } weights) found.Add(new AveragedWeights(key, weights));
                }
            }
            var prefixed = new Dictionary<string, List<NamedTensor>>(StringComparer.Ordinal);
            foreach (var w in view.Weights)
            {
                var p = PrefixOf(w.Name);
                if (p == null) continue;
                if (!prefixed.TryGetValue(p, out var list)) prefixed[p] = list = new List<NamedTensor>();
                list.Add(new NamedTensor(Unwrapped(w.Name.Substring(p.Length)), w.Path, w.Tensor));
            }
            foreach (var kv in prefixed)
                found.Add(new AveragedWeights((view.WeightsPath is { Length: > 0 } wp ? wp + "/" : "") + kv.Key + "*", kv.Value));
            return found;
        }

        private static void Scan(PyDict state, string path, HashSet<string> modelNames, List<AveragedWeights> found, int depth)
        {
            foreach (var e in state)
            {
                if (!(e.Value is PyDict d)) continue;
                string key = PyRepr.KeySegment(e.Key);
                if (Candidate(key, d, modelNames) is { } weights) found.Add(new AveragedWeights(path + "/" + key, weights));
                else if (depth < 2) Scan(d, path + "/" + key, modelNames, found, depth + 1);
            }
        }

        /// <summary>The dict's tensors as weights, when it shares names with the model and its key says it is an average or its names are mostly the model's.</summary>
        private static List<NamedTensor>? Candidate(string key, PyDict d, HashSet<string> modelNames)
        {
            var list = new List<NamedTensor>();
            int known = 0;
            foreach (var e in d)
                if (e.Value is TensorRef t)
                {
                    string name = Unwrapped(PyRepr.KeySegment(e.Key));
                    if (modelNames.Contains(name)) known++;
                    list.Add(new NamedTensor(name, ObjectWalker.Join(key, PyRepr.KeySegment(e.Key)), t));
                }
            if (list.Count == 0) return null;
            string k = key.ToLowerInvariant();
            bool named = k.Contains("ema") || k.Contains("swa") || k.Contains("averag");
            // an averaged copy shares names with the model (averaging_state's lone n_averaged does not)
            return known > 0 && (named || known * 2 >= list.Count) ? list : null;
        }

        /// <summary>The name without the 'module.' an AveragedModel / ModelEmaV2 wraps the model in.</summary>
        private static string Unwrapped(string name) => name.StartsWith("module.", StringComparison.Ordinal) && name.Length > 7 ? name.Substring(7) : name;
    }
}
