using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>
    /// A DeepSpeed ZeRO checkpoint folder (<c>latest</c> → tag folder with <c>*_model_states.pt</c> and
    /// <c>[bf16_]zero_pp_rank_R_mp_rank_00_optim_states.pt</c>). The weights are what zero_to_fp32 gives — the fp32
    /// masters cut out of the ranks' flat partitions (stage 1/2: groups concatenated across ranks; stage 3: every
    /// parameter split across ranks with padding) — but in module order, with integer buffers keeping their dtype,
    /// frozen parameters from their fragments (or the 16-bit module at stage 1), tied aliases restored from
    /// <c>shared_params</c>, and the variants zero_to_fp32 rejects (no zero_stage: BF16_Optimizer) read too.
    /// Nothing is copied: each weight is a view of one partition, or a chunked tensor across several.
    /// </summary>
    internal static class DeepSpeedCheckpoint
    {
        private static readonly Regex OptimFile = new Regex(@"^(bf16_)?zero_pp_rank_(\d+)_mp_rank_(\d+)_optim_states\.pt$", RegexOptions.CultureInvariant);
        private static readonly Regex Stage3ModelFile = new Regex(@"^zero_pp_rank_(\d+)_mp_rank_(\d+)_model_states\.pt$", RegexOptions.CultureInvariant);
        private const string ModelFile = "mp_rank_00_model_states.pt";
        private const string LegacyPrefix = "_forward_module.";

        /// <summary>Engine keys Lightning's convert_zero_checkpoint_to_fp32_state_dict drops from the client state.</summary>
        private static readonly HashSet<string> EngineKeys = new HashSet<string>(StringComparer.Ordinal)
        {
            "module", "optimizer", "lr_scheduler", "csr_tensor_module_names", "skipped_steps", "global_steps", "dp_world_size", "mp_world_size",
            "frozen_param_fragments",
        };

        public static bool Recognises(string dir) =>
            File.Exists(Path.Combine(dir, "latest")) || Directory.GetFiles(dir, "*_model_states.pt").Length > 0;

        public static Checkpoint Open(string dirIn)
        {
            var dir = Path.GetFullPath(dirIn);
            var files = new List<string>();
            string tagDir = dir;
            string? tag = null;
            var latest = Path.Combine(dir, "latest");
            if (File.Exists(latest) && Directory.GetFiles(dir, "*_model_states.pt").Length == 0)
            {
                tag = ShardedCheckpointReader.ReadText(latest, 4096).Trim();
                tagDir = ShardedCheckpointReader.Inside(dir, tag, latest);
                if (!Directory.Exists(tagDir))
                    throw new CheckpointFormatException(latest, "tag", $"'latest' names the tag '{tag}', but the folder '{tagDir}' is missing") { Defect = CheckpointDefect.MissingStorage };
                files.Add(latest);
            }
            var notes = new List<string>();
            var optimByRank = new SortedDictionary<long, string>();
            foreach (var f in Directory.GetFiles(tagDir, "*_optim_states.pt"))
            {
                var m = OptimFile.Match(Path.GetFileName(f));
                if (!m.Success) continue; // MoE expert (expp_rank_*) or unknown optimizer file: graded below, tensors not read
                if (m.Groups[3].Value != "00")
                    throw new CheckpointFormatException(f, "file name", "tensor-parallel DeepSpeed checkpoints (mp_rank other than 00) are not supported") { Kind = CheckpointErrorKind.Unsupported };
                optimByRank[long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)] = f;
            }
            var modelByRank = new SortedDictionary<long, string>();
            foreach (var f in Directory.GetFiles(tagDir, "*_model_states.pt"))
            {
                var m = Stage3ModelFile.Match(Path.GetFileName(f));
                if (m.Success && m.Groups[2].Value == "00") modelByRank[long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)] = f;
            }
            var model0Path = File.Exists(Path.Combine(tagDir, ModelFile)) ? Path.Combine(tagDir, ModelFile) : modelByRank.Count > 0 ? modelByRank.First().Value : null;
            if (model0Path == null)
                throw new CheckpointFormatException(tagDir, "folder", $"no {ModelFile} or zero_pp_rank_0_mp_rank_00_model_states.pt: the model states are missing") { Defect = CheckpointDefect.MissingStorage };

            var parts = new List<Checkpoint>();
            Checkpoint OpenOne(string f, string what)
            {
                var p = ShardedCheckpointReader.OpenPart(f, what);
                parts.Add(p);
                files.Add(p.FilePath);
                return p;
            }
            var model0 = OpenOne(model0Path, "model states");
            var ms = model0.Root as PyDict ?? throw new CheckpointFormatException(model0Path, "pickle", "the model states are not a dict");
            var module = ms.Get("module") as PyDict ?? throw new CheckpointFormatException(model0Path, "pickle", "the model states have no 'module' state dict");

            var optim = new List<(string path, PyDict osd)>();
            foreach (var kv in optimByRank)
            {
                var p = OpenOne(kv.Value, "optimizer states");
                var osd = (p.Root as PyDict)?.Get("optimizer_state_dict") as PyDict
                    ?? throw new CheckpointFormatException(kv.Value, "pickle", "no 'optimizer_state_dict' dict: not a ZeRO optimizer file");
                optim.Add((kv.Value, osd));
            }

            int? stage = null;
            int world = optim.Count;
            var weights = new Dictionary<string, TensorRef>(StringComparer.Ordinal);
            PyDict? optimizer = null;
            if (optim.Count == 0)
            {
                notes.Add("no optimizer files: weights are the module's own (16-bit) copy");
                if (PyFields.Long(ms.Get("dp_world_size")) is long dpw) world = (int)dpw;
            }
            else
            {
                var first = optim[0].osd;
                stage = ZeroStage(first.Get("zero_stage"));
                var pc = first.Get("partition_count");
                world = PartitionCount(pc) ?? optim.Count;
                for (long r = 0; r < world; r++)
                    if (!optimByRank.ContainsKey(r))
                        throw new CheckpointFormatException(tagDir, "folder", $"partition_count says {world} ranks but the optimizer file of rank {r} is missing") { Defect = CheckpointDefect.MissingStorage };
                if (optim.Count != world)
                    throw new CheckpointFormatException(tagDir, "folder", $"partition_count says {world} ranks but there are {optim.Count} optimizer files") { Defect = CheckpointDefect.MissingStorage };
                if (stage == null)
                {
                    if (!first.ContainsKey("single_partition_of_fp32_groups"))
                        throw new CheckpointFormatException(optim[0].path, "optimizer_state_dict", "no zero_stage and no fp32 partitions: not a ZeRO checkpoint");
                    notes.Add("no zero_stage: a BF16_Optimizer (stage 0/1 bf16) checkpoint, which zero_to_fp32 rejects; partitions are read with their padding");
                    stage = StageFromConfig(ms.Get("ds_config")) ?? 0;
                }
                var shapes = ParamShapes(ms.Get("param_shapes"), model0Path);
                bool stage3Layout = !(stage <= 2 || !first.ContainsKey("fp32_flat_groups"));
                if (!stage3Layout) Stage12(optim, shapes, weights);
                else
                {
                    Stage3(optim, shapes, weights, world);
                    Stage3Frozen(ms, modelByRank, f => OpenOne(f, "model states"), tagDir, weights, world, model0Path);
                }
                optimizer = DeepSpeedOptimizerState.Reassemble(optim, shapes, stage.Value, world, stage3Layout, notes);
            }
            if (stage == 2) Stage2Frozen(ms, weights);
            if (File.Exists(Path.Combine(dir, DeepSpeedUniversalCheckpoint.LatestName)))
                notes.Add($"'{DeepSpeedUniversalCheckpoint.LatestName}' names a universal copy beside it; open that folder to read the copy");

            var ungraded = new List<string>();
            var graded = GradeTheRest(tagDir, files, notes, ungraded);
            var info = new ShardingInfo(files, Math.Max(1, optim.Count)) { WorldSize = world, ZeroStage = stage, Tag = tag, Notes = notes, UngradedFiles = ungraded };
            return Present(dir, CheckpointFormat.DeepSpeed, model0, module, weights, moduleIsComplete: optim.Count == 0 || stage <= 1, info, notes, parts, optimizer, graded);
        }

        /// <summary>
        /// Every other .pt file of the tag folder (MoE expert optimizer and model files, which DeepSpeed torch.loads too):
        /// its pickle is read for safety grading only, or — when it cannot be read — it is named as ungraded.
        /// </summary>
        internal static List<Checkpoint> GradeTheRest(string folder, List<string> files, List<string> notes, List<string> ungraded)
        {
            var graded = new List<Checkpoint>();
            var known = new HashSet<string>(files.Select(Path.GetFullPath), StringComparer.Ordinal);
            foreach (var f in Directory.GetFiles(folder, "*.pt").OrderBy(x => x, StringComparer.Ordinal))
            {
                if (known.Contains(Path.GetFullPath(f))) continue;
                var name = Path.GetFileName(f);
                try
                {
                    graded.Add(ShardedCheckpointReader.OpenPart(f, "DeepSpeed file"));
                    files.Add(f);
                    notes.Add($"'{name}' (MoE expert or unknown file) is graded for safety; its tensors are left out");
                }
                catch (Exception e) when (e is CheckpointFormatException || e is IOException || e is UnauthorizedAccessException)
                {
                    ungraded.Add($"'{name}' could not be read, so its pickle is not graded: {(e as CheckpointFormatException)?.Reason ?? e.Message}");
                }
            }
            return graded;
        }

        /// <summary>
        /// The logical checkpoint of a DeepSpeed engine's model states <paramref name="model0"/> given its trainable (and
        /// frozen) <paramref name="weights"/>: the client state (Lightning: epoch, global_step, …) with the state dict in
        /// module order — weights, buffers as saved (ints stay ints), module tensors when <paramref name="moduleIsComplete"/>
        /// (stage ≤ 1), tied aliases from shared_params — and <paramref name="optimizer"/> (a torch-style optimizer state
        /// dict) as optimizer_states[0] (or 'optimizer' outside Lightning) when there is one.
        /// </summary>
        internal static Checkpoint Present(string dir, CheckpointFormat format, Checkpoint model0, PyDict module, Dictionary<string, TensorRef> weights,
            bool moduleIsComplete, ShardingInfo info, List<string> notes, List<Checkpoint> parts, PyDict? optimizer, IReadOnlyList<Checkpoint>? gradedOnly = null)
        {
            var ms = (PyDict)model0.Root!;
            var buffers = new HashSet<string>(StringComparer.Ordinal);
            if (ms.Get("buffer_names") is PyList bl) foreach (var b in bl) if (b is string s) buffers.Add(s);
            var shared = new List<(string alias, string source)>();
            if (ms.Get("shared_params") is PyDict sp) foreach (var e in sp) if (e.Key is string a && e.Value is string src) shared.Add((a, src));

            // module order; trainable → fp32 master, frozen → fragment, buffers as saved (ints stay ints), aliases → their source
            var state = new PyDict { PythonType = new PyGlobal("collections", "OrderedDict") };
            bool stripped = false;
            string Name(string n)
            {
                var name = PublicName(n);
                stripped |= name.Length != n.Length;
                return name;
            }
            var aliasOf = shared.ToDictionary(x => x.alias, x => x.source, StringComparer.Ordinal);
            foreach (var e in module)
            {
                if (e.Key is not string n) continue;
                if (weights.TryGetValue(n, out var w)) state.Set(Name(n), w);
                else if (aliasOf.ContainsKey(n)) state.Set(Name(n), null); // placeholder keeps module order; filled below
                else if (e.Value is TensorRef t && (buffers.Contains(n) || moduleIsComplete || t.Numel > 0)) state.Set(Name(n), t);
                else if (e.Value is TensorRef) notes.Add($"'{n}' has no data in any rank's files (saved with exclude_frozen_parameters?) and is left out");
            }
            foreach (var kv in weights) if (!state.ContainsKey(Name(kv.Key))) state.Set(Name(kv.Key), kv.Value);
            foreach (var (alias, source) in shared)
            {
                if (state.Get(Name(source)) is TensorRef st) state.Set(Name(alias), st);
                else notes.Add($"tied '{alias}' names '{source}', which is not in the checkpoint");
            }
            var empty = state.Entries.Where(x => x.Value == null).Select(x => x.Key).ToList();
            if (empty.Count > 0)
            {
                var clean = new PyDict { PythonType = state.PythonType };
                foreach (var e in state) if (e.Value != null) clean.Set(e.Key, e.Value);
                state = clean;
            }
            if (stripped) notes.Add($"the '{LegacyPrefix}' prefix of Lightning < 2.1 was removed from the names");

            bool lightning = ms.ContainsKey("pytorch-lightning_version") || ms.ContainsKey("epoch");
            var root = new PyDict();
            foreach (var e in ms) if (e.Key is not string k || !EngineKeys.Contains(k)) root.Set(e.Key, e.Value);
            root.Set(lightning ? "state_dict" : "module", state);
            if (!lightning && PyFields.Long(ms.Get("global_steps")) is long gs) root.Set("global_steps", gs);
            if (optimizer != null) root.Set(lightning ? "optimizer_states" : "optimizer", lightning ? new PyList { optimizer } : (object)optimizer);

            var storages = parts.SelectMany(p => p.Storages).ToList();
            var globals = GlobalsRecorder.Merge(parts.Concat(gradedOnly ?? Array.Empty<Checkpoint>()).Select(p => p.GlobalUse));
            return new Checkpoint(dir, model0.Source, format, root, storages, globals, model0.Protocol, parts.Sum(p => p.PickleBytes), info);
        }

        /// <summary>The ranks partition_count records: an int (stage 3) or the largest of a per-group list (stage 1/2); null when absent.</summary>
        internal static int? PartitionCount(object? pc) => pc switch
        {
            long l => (int)l,
            PyList l => l.Select(PyFields.Long).Where(x => x != null).Select(x => (int?)(int)x!.Value).Max(),
            _ => null,
        };

        /// <summary>A parameter's name without the '_forward_module.' prefix of Lightning &lt; 2.1.</summary>
        internal static string PublicName(string n) => n.StartsWith(LegacyPrefix, StringComparison.Ordinal) ? n.Substring(LegacyPrefix.Length) : n;

        /// <summary>ZeroStageEnum as pickled: REDUCE(cls, (n,)) before Python 3.11, REDUCE(getattr, (cls, 'name')) after; or a plain int.</summary>
        internal static int? ZeroStage(object? v)
        {
            switch (v)
            {
                case null: return null;
                case long l: return (int)l;
                case PyObject o when o.Args.Count >= 1 && o.Args[0] is long n: return (int)n;
                case PyObject o when o.Args.Count == 2 && o.Args[1] is string name:
                    return name switch { "disabled" => 0, "optimizer_states" => 1, "gradients" => 2, "weights" => 3, "max_stage" => 3, _ => (int?)null };
                default: return null;
            }
        }

        internal static int? StageFromConfig(object? config) =>
            PyFields.Get(PyFields.Get(config, "zero_optimization"), "stage") is long s ? (int)s : (int?)null;

        internal static List<List<(string name, long[] shape)>> ParamShapes(object? v, string path)
        {
            var groups = new List<List<(string, long[])>>();
            if (v is not PyList list) throw new CheckpointFormatException(path, "param_shapes", "param_shapes is missing or not a list");
            foreach (var g in list)
            {
                var group = new List<(string, long[])>();
                if (g is PyDict d)
                    foreach (var e in d)
                    {
                        var name = e.Key as string ?? throw new CheckpointFormatException(path, "param_shapes", "a parameter name is not a string");
                        var shape = PyFields.Longs(e.Value) ?? throw new CheckpointFormatException(path, "param_shapes", $"the shape of '{e.Key}' is not a tuple of ints");
                        TensorSize.Bytes(DType.Float32, TensorSize.Elements(shape, name, path, "param_shapes"), name, shape, path, "param_shapes"); // the fp32 masters
                        group.Add((name, shape));
                    }
                groups.Add(group);
            }
            return groups;
        }

        /// <summary>One rank's flat elements as consecutive 1-D tensors (its groups, or one group).</summary>
        private sealed class FlatSegments
        {
            private readonly List<(long start, TensorRef t)> _segs = new List<(long, TensorRef)>();
            public FlatSegments(string origin) => Origin = origin;
            public string Origin { get; }
            public long Length { get; private set; }

            public void Add(TensorRef t, string path)
            {
                if (!t.HasData || t.IsChunked || !t.IsContiguous || !ReferenceEquals(t.DType, t.DType))
                    throw new CheckpointFormatException(path, "fp32 partitions", "a partition is not a dense contiguous tensor");
                _segs.Add((Length, t));
                Length += t.Numel;
            }

            /// <summary>Slices covering flat [from, from+count), as (offset in that range, 1-D view).</summary>
            public IEnumerable<(long at, TensorRef view)> Slices(long from, long count)
            {
                foreach (var (start, t) in _segs)
                {
                    long a = Math.Max(from, start), b = Math.Min(from + count, start + t.Numel);
                    if (a >= b) continue;
                    var view = new TensorRef(t.DType, new[] { b - a }, new[] { 1L }, t.StorageOffset + (a - start), t.Storage);
                    view.Validate();
                    yield return (a - from, view);
                }
            }
        }

        /// <summary>A parameter made of flat slices: a plain view when one slice holds it all, else a chunked tensor.</summary>
        /// <param name="shape">The parameter's shape.</param>
        /// <param name="pieces">Where each slice goes in the flat parameter.</param>
        /// <param name="copy">Always a chunked tensor, so a writer gives it a storage of its own (a per-parameter copy of a shared value).</param>
        internal static TensorRef Place(long[] shape, List<(long at, TensorRef view, string origin)> pieces, bool copy = false)
        {
            long numel = TensorRef.ComputeNumel(shape);
            if (!copy && pieces.Count == 1 && pieces[0].view.Numel == numel)
            {
                var v = pieces[0].view;
                var t = new TensorRef(v.DType, shape, TorchHost.ContiguousStride(shape), v.StorageOffset, v.Storage);
                t.Validate();
                return t;
            }
            var chunks = pieces.Select(p => new TensorChunk(new[] { p.at }, new[] { p.view.Numel }, p.view, p.origin)).ToList();
            var layout = new ChunkLayout(new[] { numel }, chunks);
            var problems = layout.Problems();
            if (problems.Count > 0) throw new PickleDataException(string.Join("; ", problems.Take(3)), CheckpointDefect.MissingStorage);
            return TensorRef.Assembled(pieces[0].view.DType, shape, layout);
        }

        /// <summary>Rank r's fp32 partition of group g (stage 1/2): single_partition_of_fp32_groups[g], padding already cut (BF16_Optimizer: kept).</summary>
        internal static TensorRef Fp32Partition12(List<(string path, PyDict osd)> optim, int r, int g)
        {
            var groups = optim[r].osd.Get("single_partition_of_fp32_groups") as PyList
                ?? throw new CheckpointFormatException(optim[r].path, "optimizer_state_dict", "no single_partition_of_fp32_groups list");
            if (g >= groups.Count || groups[g] is not TensorRef t)
                throw new CheckpointFormatException(optim[r].path, "single_partition_of_fp32_groups", $"group {g} is missing") { Defect = CheckpointDefect.MissingStorage };
            return t;
        }

        /// <summary>Rank r's fp32 partitions of every sub-group (stage 3): fp32_flat_groups.</summary>
        internal static List<TensorRef> Fp32Partitions3(List<(string path, PyDict osd)> optim, int r)
        {
            var groups = optim[r].osd.Get("fp32_flat_groups") as PyList ?? throw new CheckpointFormatException(optim[r].path, "optimizer_state_dict", "no fp32_flat_groups list");
            return groups.Select(t => t as TensorRef ?? throw new CheckpointFormatException(optim[r].path, "fp32_flat_groups", "a group is not a tensor")).ToList();
        }

        private static void Stage12(List<(string path, PyDict osd)> optim, List<List<(string name, long[] shape)>> shapes, Dictionary<string, TensorRef> weights)
        {
            for (int g = 0; g < shapes.Count; g++)
            {
                int group = g;
                CutGroup12(optim, shapes[g], g, r => Fp32Partition12(optim, r, group), "single_partition_of_fp32_groups", weights);
            }
        }

        /// <summary>
        /// Stage 1/2 arithmetic: group <paramref name="g"/>'s ranks' partitions (<paramref name="partition"/> of rank r,
        /// each as long as the rank's fp32 master) concatenated in rank order are the group's parameters back to back in
        /// param_shapes order. The fp32 masters and every Adam moment are cut by it alike.
        /// </summary>
        internal static void CutGroup12(List<(string path, PyDict osd)> optim, List<(string name, long[] shape)> group, int g, Func<int, TensorRef> partition,
            string what, Dictionary<string, TensorRef> into)
        {
            var flat = new List<FlatSegments>();
            long total = 0;
            for (int r = 0; r < optim.Count; r++)
            {
                var seg = new FlatSegments($"rank {r} group {g}");
                seg.Add(partition(r), optim[r].path);
                flat.Add(seg);
                total += seg.Length;
            }
            long offset = 0;
            foreach (var (name, shape) in group)
            {
                long numel = TensorRef.ComputeNumel(shape);
                if (offset + numel > total)
                    throw new CheckpointFormatException(optim[0].path, what, $"group {g} needs {offset + numel} elements up to '{name}' but the ranks hold {total}") { Defect = CheckpointDefect.StorageSizeMismatch };
                var pieces = new List<(long, TensorRef, string)>();
                long rankStart = 0;
                foreach (var seg in flat)
                {
                    long a = Math.Max(offset, rankStart), b = Math.Min(offset + numel, rankStart + seg.Length);
                    if (a < b) foreach (var (at, view) in seg.Slices(a - rankStart, b - a)) pieces.Add((a - offset + at, view, seg.Origin));
                    rankStart += seg.Length;
                }
                into[name] = Place(shape, pieces);
                offset += numel;
            }
        }

        private static void Stage3(List<(string path, PyDict osd)> optim, List<List<(string name, long[] shape)>> shapes, Dictionary<string, TensorRef> weights, int world) =>
            Cut3(optim, shapes, world, r => Fp32Partitions3(optim, r), "fp32_flat_groups", weights);

        /// <summary>
        /// Stage 3 arithmetic: every parameter is split across the ranks on its own, rank r holding elements
        /// [r·ps, (r+1)·ps) with ps = ceil(numel/world) (the last rank's tail is padding); a rank's sub-group partitions
        /// (<paramref name="rankGroups"/>) concatenated are its parts of the parameters in param_shapes order. The fp32
        /// masters and every Adam moment are cut by it alike.
        /// </summary>
        internal static void Cut3(List<(string path, PyDict osd)> optim, List<List<(string name, long[] shape)>> shapes, int world,
            Func<int, IEnumerable<TensorRef>> rankGroups, string what, Dictionary<string, TensorRef> into)
        {
            var flats = new List<FlatSegments>();
            for (int r = 0; r < optim.Count; r++)
            {
                var seg = new FlatSegments($"rank {r}");
                foreach (var t in rankGroups(r)) seg.Add(t, optim[r].path);
                flats.Add(seg);
            }
            long offset = 0;
            foreach (var group in shapes)
                foreach (var (name, shape) in group)
                {
                    long numel = TensorRef.ComputeNumel(shape);
                    long ps = (numel + world - 1) / world;
                    var pieces = new List<(long, TensorRef, string)>();
                    for (int r = 0; r < world; r++)
                    {
                        long lo = r * ps, len = Math.Min(numel, lo + ps) - lo;
                        if (len <= 0) continue;
                        if (offset + len > flats[r].Length)
                            throw new CheckpointFormatException(optim[r].path, what, $"rank {r} holds {flats[r].Length} elements, fewer than '{name}' needs") { Defect = CheckpointDefect.StorageSizeMismatch };
                        foreach (var (at, view) in flats[r].Slices(offset, len)) pieces.Add((lo + at, view, flats[r].Origin));
                    }
                    into[name] = Place(shape, pieces);
                    offset += ps;
                }
        }

        /// <summary>Stage 2 keeps each frozen parameter whole (16-bit) in frozen_param_fragments of the model states.</summary>
        internal static void Stage2Frozen(PyDict ms, Dictionary<string, TensorRef> weights)
        {
            if (ms.Get("frozen_param_fragments") is PyDict frag)
                foreach (var e in frag) if (e.Key is string n && e.Value is TensorRef t && !weights.ContainsKey(n)) weights[n] = t;
        }

        /// <summary>Stage 3 splits each frozen parameter across the ranks' model files (frozen_param_fragments), so every rank's file is opened.</summary>
        internal static void Stage3Frozen(PyDict ms, IDictionary<long, string> modelByRank, Func<string, Checkpoint> open, string folder,
            Dictionary<string, TensorRef> weights, int world, string path)
        {
            var rankModels = new List<PyDict?> { ms };
            for (long r = 1; r < world; r++)
                rankModels.Add(modelByRank.TryGetValue(r, out var mf) ? open(mf).Root as PyDict
                    : throw new CheckpointFormatException(folder, "folder", $"the model states of rank {r} are missing") { Defect = CheckpointDefect.MissingStorage });
            if (rankModels[0]?.Get("frozen_param_shapes") is not PyDict shapes) return;
            foreach (var e in shapes)
            {
                if (e.Key is not string name) continue;
                var shape = PyFields.Longs(e.Value) ?? throw new CheckpointFormatException(path, "frozen_param_shapes", $"the shape of '{name}' is not a tuple of ints");
                long numel = TensorRef.ComputeNumel(shape);
                long ps = (numel + world - 1) / world;
                var pieces = new List<(long, TensorRef, string)>();
                for (int r = 0; r < world; r++)
                {
                    long lo = r * ps, len = Math.Min(numel, lo + ps) - lo;
                    if (len <= 0) continue;
                    if ((rankModels[r]?.Get("frozen_param_fragments") as PyDict)?.Get(name) is not TensorRef frag || frag.Numel < len)
                        throw new CheckpointFormatException(path, "frozen_param_fragments", $"rank {r} has no fragment of frozen '{name}'") { Defect = CheckpointDefect.MissingStorage };
                    var seg = new FlatSegments($"rank {r} frozen");
                    seg.Add(frag, path);
                    foreach (var (at, view) in seg.Slices(0, len)) pieces.Add((lo + at, view, seg.Origin));
                }
                weights[name] = Place(shape, pieces);
            }
        }
    }
}
