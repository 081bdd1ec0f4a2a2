using System;
using System.Collections.Generic;
using System.Linq;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>
    /// The optimizer state of a DeepSpeed ZeRO folder in torch's own layout: each rank's base optimizer holds, per
    /// (sub-)group, flat exp_avg / exp_avg_sq (any flat tensor as long as the partition) over its fp32 partition,
    /// padding included; they are cut per parameter with the very arithmetic of the fp32 masters (stage 1/2: groups
    /// concatenated across ranks; stage 3: every parameter split across ranks) and shaped like the parameter. Per-group
    /// scalars (step) are copied to every parameter of the group — a 0-d step tensor as a tensor of its own per
    /// parameter, since torch's Adam advances each step in place. The result is
    /// <c>{'state': {index: {...}}, 'param_groups': [{hyper-parameters..., 'params': [indices], 'param_names': [names]}]}</c>,
    /// indices numbered across the groups in order (torch's own numbering), so an optimizer built over the same groups
    /// of the model's parameters loads it. Frozen parameters and tied aliases are in no group, as in DeepSpeed.
    /// </summary>
    internal static class DeepSpeedOptimizerState
    {
        /// <summary>The reassembled state, or null (with a note saying why) when the files hold none that can be cut.</summary>
        public static PyDict? Reassemble(List<(string path, PyDict osd)> optim, List<List<(string name, long[] shape)>> shapes, int stage, int world,
            bool stage3Layout, List<string> notes)
        {
            try
            {
                var inner = new List<PyDict>();
                foreach (var (path, osd) in optim)
                {
                    var key = stage3Layout ? "optimizer_state_dict" : "base_optimizer_state";
                    var v = osd.Get(key);
                    if (v is PyList)
                    {
                        notes.Add("the optimizer state was saved elastic (one lean state per group): it is not reassembled");
                        return null;
                    }
                    inner.Add(v as PyDict ?? throw new CheckpointFormatException(path, key, $"no '{key}' dict"));
                }
                var state0 = inner[0].Get("state") as PyDict;
                var groups0 = inner[0].Get("param_groups") as PyList;
                if (state0 == null || state0.Count == 0 || groups0 == null)
                {
                    notes.Add("the optimizer files hold no optimizer state (no step taken?)");
                    return null;
                }
                var perParam = new Dictionary<string, PyDict>(StringComparer.Ordinal);
                if (stage3Layout) Stage3(optim, inner, shapes, world, perParam);
                else
                    for (int g = 0; g < shapes.Count; g++) Stage12(optim, inner, shapes[g], g, perParam);
                var groups = new List<(PyDict? hyper, List<string> names)>();
                for (int g = 0; g < shapes.Count; g++)
                    groups.Add((g < groups0.Count ? groups0[g] as PyDict : null, shapes[g].Select(x => x.name).ToList()));
                return TorchLayout(groups, n => perParam.TryGetValue(n, out var st) ? st : null);
            }
            catch (Exception e) when (e is CheckpointFormatException || e is PickleDataException)
            {
                notes.Add("the optimizer state is not reassembled: " + e.Message);
                return null;
            }
        }

        /// <summary>
        /// torch's optimizer state_dict layout over <paramref name="groups"/> (hyper-parameters, parameter names):
        /// indices numbered across the groups in order; a name's state from <paramref name="stateOf"/> (none: no entry).
        /// </summary>
        internal static PyDict TorchLayout(List<(PyDict? hyper, List<string> names)> groups, Func<string, PyDict?> stateOf)
        {
            var state = new PyDict();
            var paramGroups = new PyList();
            long index = 0;
            foreach (var (hyper, names) in groups)
            {
                var group = new PyDict();
                var ids = new PyList();
                var publicNames = new PyList();
                foreach (var n in names)
                {
                    if (stateOf(n) is { } st) state.Set(index, st);
                    ids.Add(index++);
                    publicNames.Add(DeepSpeedCheckpoint.PublicName(n));
                }
                if (hyper != null)
                    foreach (var e in hyper)
                        if (!(e.Key is "params" or "param_names")) group.Set(e.Key, e.Value);
                group.Set("params", ids);
                group.Set("param_names", publicNames);
                paramGroups.Add(group);
            }
            var result = new PyDict();
            result.Set("state", state);
            result.Set("param_groups", paramGroups);
            return result;
        }

        /// <summary>A per-group value for one parameter: a tensor becomes a copy of its own (torch steps it in place).</summary>
        internal static object? PerParameter(object? v) =>
            v is TensorRef t && t.HasData ? DeepSpeedCheckpoint.Place(t.Shape, new List<(long, TensorRef, string)> { (0, Flat(t), "step") }, copy: true) : v;

        private static TensorRef Flat(TensorRef t)
        {
            if (!t.IsContiguous || t.IsChunked) return t;
            var v = new TensorRef(t.DType, new[] { t.Numel }, new[] { 1L }, t.StorageOffset, t.Storage);
            v.Validate();
            return v;
        }

        /// <summary>The flat index of group g's partition in a rank's base optimizer (its 'params' list holds one index).</summary>
        private static object FlatIndex(PyDict inner, int g, string path)
        {
            if ((inner.Get("param_groups") as PyList)?.ElementAtOrDefault(g) is PyDict grp && grp.Get("params") is PyList ps && ps.Count == 1 && ps[0] != null) return ps[0]!;
            throw new CheckpointFormatException(path, "param_groups", $"group {g} of the base optimizer does not name its one flat partition");
        }

        /// <summary>The step of (sub-)group g in a base optimizer's state dict, or null.</summary>
        internal static object? GroupStep(PyDict? inner, int g)
        {
            if (inner == null) return null;
            try { return GroupState(inner, g, "")?.Get("step"); }
            catch (CheckpointFormatException) { return null; }
        }

        /// <summary>Rank r's state of group g's flat partition, or null when the optimizer took no step for it.</summary>
        private static PyDict? GroupState(PyDict inner, int g, string path) =>
            (inner.Get("state") as PyDict)?.Get(FlatIndex(inner, g, path)) as PyDict;

        /// <summary>The keys of a group state that are flat moments: 1-D tensors at least as long as the rank's fp32 partition.</summary>
        private static bool IsMoment(object? v, long partition) => v is TensorRef t && t.Shape.Length == 1 && t.Numel >= partition && t.HasData;

        private static TensorRef Prefix(TensorRef t, long n, string path)
        {
            if (t.IsChunked || !t.IsContiguous) throw new CheckpointFormatException(path, "optimizer state", "a moment is not a dense contiguous tensor");
            var v = new TensorRef(t.DType, new[] { n }, new[] { 1L }, t.StorageOffset, t.Storage);
            v.Validate();
            return v;
        }

        private static void Stage12(List<(string path, PyDict osd)> optim, List<PyDict> inner, List<(string name, long[] shape)> group, int g, Dictionary<string, PyDict> perParam)
        {
            var first = GroupState(inner[0], g, optim[0].path);
            if (first == null) return;
            long fp0 = DeepSpeedCheckpoint.Fp32Partition12(optim, 0, g).Numel;
            foreach (var e in first)
            {
                var cut = new Dictionary<string, TensorRef>(StringComparer.Ordinal);
                if (IsMoment(e.Value, fp0))
                {
                    var key = e.Key;
                    DeepSpeedCheckpoint.CutGroup12(optim, group, g, r =>
                    {
                        long fp = DeepSpeedCheckpoint.Fp32Partition12(optim, r, g).Numel;
                        var st = GroupState(inner[r], g, optim[r].path);
                        if (st?.Get(key) is not TensorRef m || !IsMoment(m, fp))
                            throw new CheckpointFormatException(optim[r].path, "base_optimizer_state", $"rank {r} has no flat '{key}' of group {g} as long as its partition ({fp})");
                        return Prefix(m, fp, optim[r].path);
                    }, "base_optimizer_state", cut);
                }
                foreach (var (name, _) in group)
                {
                    if (!perParam.TryGetValue(name, out var st)) perParam[name] = st = new PyDict();
                    st.Set(e.Key, cut.TryGetValue(name, out var t) ? t : PerParameter(e.Value));
                }
            }
        }

        private static void Stage3(List<(string path, PyDict osd)> optim, List<PyDict> inner, List<List<(string name, long[] shape)>> shapes, int world, Dictionary<string, PyDict> perParam)
        {
            var fp32 = Enumerable.Range(0, optim.Count).Select(r => DeepSpeedCheckpoint.Fp32Partitions3(optim, r)).ToList();
            if (fp32[0].Count < shapes.Count)
                throw new CheckpointFormatException(optim[0].path, "fp32_flat_groups", $"{fp32[0].Count} sub-groups, param_shapes lists {shapes.Count}");
            // the keys of sub-group 0's state decide what is a moment; every sub-group of every rank must have them
            var first = GroupState(inner[0], 0, optim[0].path);
            if (first == null) return;
            var moments = first.Where(e => IsMoment(e.Value, fp32[0][0].Numel)).Select(e => e.Key).ToList();
            var cuts = new Dictionary<object, Dictionary<string, TensorRef>>();
            foreach (var key in moments)
            {
                var cut = new Dictionary<string, TensorRef>(StringComparer.Ordinal);
                DeepSpeedCheckpoint.Cut3(optim, shapes, world, r => Enumerable.Range(0, shapes.Count).Select(g =>
                {
                    long fp = fp32[r][g].Numel;
                    if (GroupState(inner[r], g, optim[r].path)?.Get(key) is not TensorRef m || !IsMoment(m, fp))
                        throw new CheckpointFormatException(optim[r].path, "optimizer_state_dict", $"rank {r} has no flat '{key}' of sub-group {g} as long as its partition ({fp})");
                    return Prefix(m, fp, optim[r].path);
                }), "optimizer_state_dict", cut);
                cuts[key!] = cut;
            }
            for (int g = 0; g < shapes.Count; g++)
            {
                var gs = GroupState(inner[0], g, optim[0].path);
                if (gs == null) continue;
                foreach (var (name, _) in shapes[g])
                {
                    var st = perParam[name] = new PyDict();
                    foreach (var e in gs) st.Set(e.Key, e.Key != null && cuts.TryGetValue(e.Key, out var cut) ? cut[name] : PerParameter(e.Value));
                }
            }
        }
    }
}
