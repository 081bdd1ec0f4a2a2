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
    /// A DeepSpeed universal checkpoint (what ds_to_universal.py writes): a folder whose <c>latest_universal</c> names
    /// a step folder, or that step folder itself, holding <c>zero/&lt;param&gt;/{fp32,exp_avg,exp_avg_sq}.pt</c> (stage ≤ 2:
    /// a dict with the whole tensor under 'param'; stage 3: the bare tensor, flat), maybe <c>step.pt</c>,
    /// <c>zero/optimizer_state.pt</c> and the engine's copied model-states files. The weights are the fp32 tensors, one
    /// per name of param_shapes, shaped as param_shapes says; frozen parameters, buffers, tied aliases and the client
    /// state come from the model states as in a ZeRO folder. The Adam moments appear as torch's optimizer state
    /// (optimizer_states[0].state[index].exp_avg …, param_groups with params and param_names), never as weights.
    /// </summary>
    internal static class DeepSpeedUniversalCheckpoint
    {
        public const string LatestName = "latest_universal";
        private const string ZeroFolder = "zero";
        private const string OptimizerStateName = "optimizer_state.pt";
        private const string Stage12ModelFile = "mp_rank_00_model_states.pt";
        private static readonly Regex ModelFile = new Regex(@"^(?:zero_pp_rank_(\d+)_)?mp_rank_(\d+)_model_states\.pt$", RegexOptions.CultureInvariant);
        private static readonly string[] MomentKeys = { "exp_avg", "exp_avg_sq" };

        /// <summary>A root whose latest_universal is its only pointer (a 'latest' beside it opens the ZeRO original), or a step folder.</summary>
        public static bool Recognises(string dir) =>
            (File.Exists(Path.Combine(dir, LatestName)) && !File.Exists(Path.Combine(dir, "latest"))) || IsStepFolder(dir);

        private static bool IsStepFolder(string dir) =>
            Directory.Exists(Path.Combine(dir, ZeroFolder)) && Directory.GetFiles(dir, "*model_states.pt").Length > 0;

        public static Checkpoint Open(string dirIn)
        {
            var dir = Path.GetFullPath(dirIn);
            var files = new List<string>();
            var notes = new List<string>();
            string stepDir = dir;
            string? tag = null;
            if (!IsStepFolder(dir))
            {
                var latest = Path.Combine(dir, LatestName);
                tag = ShardedCheckpointReader.ReadText(latest, 4096).Trim();
                stepDir = ShardedCheckpointReader.Inside(dir, tag, latest);
                if (!Directory.Exists(stepDir))
                    throw new CheckpointFormatException(latest, "tag", $"'{LatestName}' names the step folder '{tag}', but '{stepDir}' is missing") { Defect = CheckpointDefect.MissingStorage };
                if (!IsStepFolder(stepDir))
                    throw new CheckpointFormatException(stepDir, "folder", $"the universal step folder has no '{ZeroFolder}' folder or no *model_states.pt") { Defect = CheckpointDefect.MissingStorage };
                files.Add(latest);
            }
            else tag = Path.GetFileName(dir);
            var zero = Path.Combine(stepDir, ZeroFolder);

            // the copied engine files: mp_rank_00 (stage ≤ 2) or one zero_pp_rank_R_mp_rank_00 per rank (stage 3)
            var rankModelFiles = new SortedDictionary<long, string>();
            string? stage12File = null;
            foreach (var f in Directory.GetFiles(stepDir, "*model_states.pt"))
            {
                var m = ModelFile.Match(Path.GetFileName(f));
                if (!m.Success) { notes.Add($"'{Path.GetFileName(f)}' (pipeline/expert or unknown model file) is not read"); continue; }
                if (m.Groups[2].Value != "00")
                    throw new CheckpointFormatException(f, "file name", "a tensor-parallel universal checkpoint (model states of mp_rank other than 00): the model states hold one slice per rank, which this version does not merge") { Kind = CheckpointErrorKind.Unsupported };
                if (m.Groups[1].Success) rankModelFiles[long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)] = f;
                else stage12File = f;
            }
            var model0Path = stage12File ?? (rankModelFiles.Count > 0 ? rankModelFiles.First().Value : null)
                ?? throw new CheckpointFormatException(stepDir, "folder", $"no {Stage12ModelFile} or zero_pp_rank_0_mp_rank_00_model_states.pt: the model states are missing") { Defect = CheckpointDefect.MissingStorage };

            var parts = new List<Checkpoint>();
            Checkpoint OpenOne(string f, string what)
            {
                if (parts.Count >= Limits.MaxShardFiles)
                    throw new CheckpointFormatException(stepDir, "folder", $"more than {Limits.MaxShardFiles} files") { Kind = CheckpointErrorKind.LimitExceeded };
                var p = ShardedCheckpointReader.OpenPart(f, what);
                parts.Add(p);
                files.Add(p.FilePath);
                return p;
            }
            if (stage12File == null && !rankModelFiles.ContainsKey(0))
                throw new CheckpointFormatException(stepDir, "folder", "zero_pp_rank_0_mp_rank_00_model_states.pt is missing: the model states of rank 0") { Defect = CheckpointDefect.MissingStorage };
            var model0 = OpenOne(model0Path, "model states");
            var ms = model0.Root as PyDict ?? throw new CheckpointFormatException(model0Path, "pickle", "the model states are not a dict");
            var module = ms.Get("module") as PyDict ?? throw new CheckpointFormatException(model0Path, "pickle", "the model states have no 'module' state dict");
            if (PyFields.Long(ms.Get("mp_world_size")) is long mp && mp > 1)
                throw new CheckpointFormatException(model0Path, "mp_world_size", $"a tensor-parallel universal checkpoint (mp_world_size {mp}): the model states hold one slice per rank, which this version does not merge") { Kind = CheckpointErrorKind.Unsupported };

            PyDict? optimizerState = null;
            var optimizerPath = Path.Combine(zero, OptimizerStateName);
            if (File.Exists(optimizerPath))
                optimizerState = OpenOne(optimizerPath, "optimizer state").Root as PyDict
                    ?? throw new CheckpointFormatException(optimizerPath, "pickle", "the common optimizer state is not a dict");
            else notes.Add($"no {ZeroFolder}/{OptimizerStateName}: the ZeRO stage is taken from ds_config");
            int stage = DeepSpeedCheckpoint.ZeroStage(optimizerState?.Get("zero_stage")) ?? DeepSpeedCheckpoint.StageFromConfig(ms.Get("ds_config"))
                ?? (stage12File == null ? 3 : 2);
            int world = stage == 3 && rankModelFiles.Count > 0 ? (int)rankModelFiles.Keys.Max() + 1
                : DeepSpeedCheckpoint.PartitionCount(optimizerState?.Get("partition_count")) ?? (int)(PyFields.Long(ms.Get("dp_world_size")) ?? 1);

            var weights = new Dictionary<string, TensorRef>(StringComparer.Ordinal);
            var moments = new Dictionary<string, PyDict>(StringComparer.Ordinal);
            var shapes = DeepSpeedCheckpoint.ParamShapes(ms.Get("param_shapes"), model0Path);
            var named = new HashSet<string>(StringComparer.Ordinal);
            int before = parts.Count;
            for (int g = 0; g < shapes.Count; g++)
                foreach (var (name, shape) in shapes[g])
                {
                    named.Add(name);
                    var paramDir = ShardedCheckpointReader.Inside(zero, name, model0Path);
                    var fp32 = Path.Combine(paramDir, "fp32.pt");
                    if (!File.Exists(fp32))
                        throw new CheckpointFormatException(fp32, "folder", $"param_shapes lists '{name}', but its fp32.pt is missing") { Defect = CheckpointDefect.MissingStorage };
                    weights[name] = Shaped(OpenOne(fp32, "fp32 weights"), name, shape, notes);
                    var state = new PyDict();
                    foreach (var key in MomentKeys)
                    {
                        var f = Path.Combine(paramDir, key + ".pt");
                        if (File.Exists(f)) state.Set(key, Shaped(OpenOne(f, key), name, shape, notes));
                    }
                    var stepFile = Path.Combine(paramDir, "step.pt");
                    if (File.Exists(stepFile)) state.Set("step", OpenOne(stepFile, "step").Root);
                    // stage 3 writes no step.pt; the copied rank-0 optimizer dict has the sub-group's step (torch's Adam needs one to resume)
                    else if (state.Count > 0 && DeepSpeedOptimizerState.GroupStep(optimizerState?.Get("optimizer_state_dict") as PyDict, g) is { } step)
                        state.Set("step", DeepSpeedOptimizerState.PerParameter(step));
                    if (state.Count > 0) moments[name] = state;
                }
            int parameterFiles = parts.Count - before;
            foreach (var d in Directory.GetDirectories(zero))
                if (!named.Contains(Path.GetFileName(d))) notes.Add($"'{ZeroFolder}/{Path.GetFileName(d)}' is not in param_shapes and is not read");

            if (stage == 2) DeepSpeedCheckpoint.Stage2Frozen(ms, weights);
            if (stage == 3) DeepSpeedCheckpoint.Stage3Frozen(ms, rankModelFiles, f => OpenOne(f, "model states"), stepDir, weights, world, model0Path);

            PyDict? optimizer = null;
            if (moments.Count > 0)
            {
                var hyper = optimizerState?.Get("param_groups") as PyList;
                var groups = shapes.Select((g, i) => (hyper != null && i < hyper.Count ? hyper[i] as PyDict : null, g.Select(x => x.name).ToList())).ToList();
                optimizer = DeepSpeedOptimizerState.TorchLayout(groups, n => moments.TryGetValue(n, out var st) ? st : null);
            }
            var info = new ShardingInfo(files, parameterFiles) { WorldSize = world, ZeroStage = stage, Tag = tag, Notes = notes };
            return DeepSpeedCheckpoint.Present(dir, CheckpointFormat.DeepSpeedUniversal, model0, module, weights, moduleIsComplete: stage <= 1, info, notes, parts, optimizer);
        }

        /// <summary>
        /// The tensor of one zero/&lt;param&gt;/*.pt file in the parameter's shape: stage ≤ 2 saves {'param': tensor, …} already
        /// shaped, stage 3 the flat tensor. A vocabulary tensor may have fewer rows than param_shapes (its TP padding cut off).
        /// </summary>
        private static TensorRef Shaped(Checkpoint file, string name, long[] shape, List<string> notes)
        {
            var path = file.FilePath;
            var (t, meta) = file.Root switch
            {
                TensorRef bare => (bare, (PyDict?)null),
                PyDict d when d.Get("param") is TensorRef p => (p, d),
                _ => throw new CheckpointFormatException(path, "pickle", $"neither a tensor nor a dict with a 'param' tensor (the universal layout of '{name}')"),
            };
            if (t.Shape.SequenceEqual(shape)) return t;
            string Dims(long[] s) => "[" + string.Join(", ", s) + "]";
            if (meta?.Get("vocab_tensor") is true && t.Shape.Length == shape.Length && t.Shape.Length > 0 && t.Shape[0] <= shape[0] && t.Shape.Skip(1).SequenceEqual(shape.Skip(1)))
            {
                if (Path.GetFileNameWithoutExtension(path) == "fp32") notes.Add($"'{name}' is a vocabulary tensor: {Dims(t.Shape)} without the padding rows of {Dims(shape)}");
                return t;
            }
            if (meta != null && meta.ContainsKey("sub_param_shape"))
                throw new CheckpointFormatException(path, "sub_param_shape", $"'{name}' has the sub-parameter layout {Dims(t.Shape)} (sub_param_shape) where param_shapes says {Dims(shape)}; this version does not re-arrange sub-parameters") { Kind = CheckpointErrorKind.Unsupported };
            if (meta == null && t.Shape.Length == 1 && t.Numel == TensorRef.ComputeNumel(shape) && t.IsContiguous && !t.IsChunked)
                return DeepSpeedCheckpoint.Place(shape, new List<(long, TensorRef, string)> { (0, t, path) });
            throw new CheckpointFormatException(path, "shape", $"'{name}' has shape {Dims(t.Shape)} but param_shapes says {Dims(shape)}") { Defect = CheckpointDefect.StorageSizeMismatch };
        }
    }
}
