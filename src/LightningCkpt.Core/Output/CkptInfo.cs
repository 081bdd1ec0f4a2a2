using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.IO;
using LightningCkpt.Container;
using LightningCkpt.Data;
using LightningCkpt.Lightning;
using LightningCkpt.Safety;
using LightningCkpt.Torch;

namespace LightningCkpt
{
    /// <summary>One checkpoint file summarised: what Get-CkptInfo emits. Built from metadata only.</summary>
    public sealed class CkptInfo
    {
        /// <summary>The checkpoint file (a sharded checkpoint's folder), as FileInfo.FullName.</summary>
        public string FullName { get; } = "";

        /// <summary>The provider-qualified path (as Get-ChildItem's): piped on, it binds to -LiteralPath, so [ ] in names are literal.</summary>
        public string PSPath => FileSystemPSPath.Of(FullName);
        public string Name { get; } = "";
        public long Length { get; }
        public CheckpointFormat Format { get; }

        /// <summary>lightning, state_dict, checkpoint_dict, module, tensor, list, tuple, dict, object.</summary>
        public string Kind { get; } = "";
        public int PickleProtocol { get; }
        public string? LightningVersion { get; }
        public int? Epoch { get; }
        public long? GlobalStep { get; }

        /// <summary>Number of model weight tensors.</summary>
        public int TensorCount { get; }

        /// <summary>Elements in the model weights.</summary>
        public long ParameterCount { get; }

        /// <summary>Bytes of the model weights.</summary>
        public long WeightsBytes { get; }

        /// <summary>Every tensor anywhere in the file (weights, optimizer state, callbacks …).</summary>
        public int AllTensorCount { get; }

        /// <summary>Distinct dtypes of the model weights.</summary>
        public TextList DTypes { get; } = TextList.Empty;

        /// <summary>Optimizer kinds, one per optimizer state (Adam/AdamW, SGD (momentum) …).</summary>
        public TextList Optimizers { get; } = TextList.Empty;

        /// <summary>The current learning rate of every param group of every optimizer, in order (the lr the next step uses).</summary>
        public double[] LearningRates { get; } = Array.Empty<double>();

        /// <summary>Bytes of optimizer state tensors.</summary>
        public long OptimizerStateBytes { get; }
        public TextList LrSchedulers { get; } = TextList.Empty;

        /// <summary>Callback names with saved state (ModelCheckpoint, EarlyStopping …).</summary>
        public TextList Callbacks { get; } = TextList.Empty;
        /// <summary>The first ModelCheckpoint's monitored metric (Lightning's trainer.checkpoint_callback).</summary>
        public string? Monitor { get; }

        /// <summary>min or max: which way <see cref="CurrentScore"/> is better (null: Lightning's default, min).</summary>
        public string? Mode { get; }

        /// <summary>
        /// This file's own value of <see cref="Monitor"/> (ModelCheckpoint's current_score when it was saved): what to
        /// sort a run's files by, honouring <see cref="Mode"/>.
        /// </summary>
        public double? CurrentScore { get; }

        /// <summary>The run's best score so far when this file was saved; not this file's own score (see <see cref="CurrentScore"/>).</summary>
        public double? BestModelScore { get; }
        public string? BestModelPath { get; }

        /// <summary>The first ModelCheckpoint's top-k files so far: path → score.</summary>
        public IReadOnlyDictionary<string, double?> BestKModels { get; } = new Dictionary<string, double?>();

        /// <summary>The worst score among <see cref="BestKModels"/>.</summary>
        public double? KthValue { get; }

        /// <summary>Every ModelCheckpoint callback's state (the first is the one Monitor … KthValue describe).</summary>
        public IReadOnlyList<CkptModelCheckpoint> ModelCheckpoints { get; } = Array.Empty<CkptModelCheckpoint>();
        public HyperParameterDictionary? HyperParameters { get; }
        public HyperParameterDictionary? DataModuleHyperParameters { get; }

        /// <summary>The precision plugin state key (MixedPrecision, native_amp_scaling_state …), if saved.</summary>
        public string? Precision { get; }

        /// <summary>The AMP loss scale, if saved.</summary>
        public double? AmpScale { get; }
        public TextList TopLevelKeys { get; } = TextList.Empty;

        /// <summary>A safetensors header's __metadata__ string map, in file order (format=pt …); empty for other formats.</summary>
        public OrderedDictionary Metadata { get; } = EmptyMetadata;

        private static readonly OrderedDictionary EmptyMetadata = new OrderedDictionary().AsReadOnly();

        /// <summary>Every global the pickle references ("module.name").</summary>
        public TextList Globals { get; } = TextList.Empty;

        /// <summary>Globals graded dangerous: they would run code in torch.load(weights_only=False).</summary>
        public TextList UnsafeGlobals { get; } = TextList.Empty;

        /// <summary>
        /// False when the pickle names a global that would run code in torch.load(weights_only=False) (listed in
        /// <see cref="UnsafeGlobals"/>). Judged from the globals only; Test-Ckpt also checks the file's structure.
        /// </summary>
        public bool IsSafe => UnsafeGlobals.Count == 0;

        /// <summary>Data files of a sharded checkpoint (shards, .distcp files, per-rank optimizer files); null for single files.</summary>
        public int? ShardCount { get; }

        /// <summary>Ranks that wrote a sharded checkpoint (DCP rank prefixes, DeepSpeed partition count), when recorded.</summary>
        public int? WorldSize { get; }

        /// <summary>DeepSpeed ZeRO stage; null for other formats.</summary>
        public int? ZeroStage { get; }

        /// <summary>Every file a sharded checkpoint was read from (metadata, index and data files); empty for single files.</summary>
        public TextList ShardFiles { get; } = TextList.Empty;

        /// <summary>EMA / SWA copies of the weights the file keeps (where, and how many tensors): Merge/Select -Source Ema read the first.</summary>
        public TextList AveragedWeights { get; } = TextList.Empty;

        /// <summary>N from a lightning_logs/version_N/checkpoints/ path.</summary>
        public int? RunVersion { get; }

        /// <summary>The run's folder name (version_3, "my run [v2]"): the folder above checkpoints/, else the file's folder.</summary>
        public string? RunName { get; }
        public DateTime LastWriteTime { get; }

        /// <summary>Opens <paramref name="path"/> and summarises it.</summary>
        public static CkptInfo Read(string path) => Read(path, null);

        /// <summary><see cref="Read(string)"/> of a file or of a URL read through <paramref name="remote"/>.</summary>
        public static CkptInfo Read(string path, Remote.RemoteSession? remote) => Checkpoint.Open(path, remote, (c, open) => new CkptInfo(c, c.View, open));

        public static CkptInfo From(Checkpoint c) => new CkptInfo(c, c.View, null);

        // Plain loops and get-only properties assigned here: the first Get-CkptInfo of a session JIT-compiles every
        // method it touches at tier 0 (no inlining), so each setter, lambda and LINQ instantiation over a value type
        // was one more method compiled before the first result.
        /// <param name="c">The checkpoint summarised.</param>
        /// <param name="v">Its Lightning view.</param>
        /// <param name="open">The stream the checkpoint was loaded from, still open (a single local file), or null.</param>
        private CkptInfo(Checkpoint c, CheckpointView v, Stream? open)
        {
            FullName = c.FilePath;
            ReadFrom = c.Source.Remote?.Url ?? c.FilePath;
            Name = Remote.RemoteUrl.FileNameOf(c.FilePath);
            Length = c.FileLength;
            Format = c.Format;
            Kind = v.Kind;
            PickleProtocol = c.Protocol;
            LightningVersion = v.LightningVersion ?? v.LegacyLightningVersion;
            Epoch = v.Epoch is long e && e >= int.MinValue && e <= int.MaxValue ? (int)e : null;
            GlobalStep = v.GlobalStep;

            var weights = v.Weights;
            TensorCount = weights.Count;
            long parameters = 0, weightBytes = 0;
            var dtypes = new List<string>();
            for (int i = 0; i < weights.Count; i++)
            {
                var t = weights[i].Tensor;
                parameters += t.Numel;
                weightBytes += t.NBytes;
                if (!dtypes.Contains(t.DType.Name)) dtypes.Add(t.DType.Name); // a handful at most, first-seen order
            }
            ParameterCount = parameters;
            WeightsBytes = weightBytes;
            DTypes = new TextList(dtypes);
            AllTensorCount = c.AllTensors.Count;
            var averaged = AveragedWeightsLocator.Find(c.Root, v);
            if (averaged.Count > 0)
            {
                var copies = new string[averaged.Count];
                for (int i = 0; i < copies.Length; i++) copies[i] = averaged[i].ToString();
                AveragedWeights = new TextList(copies);
            }

            var optimizers = new string[v.Optimizers.Count];
            long optimizerBytes = 0;
            for (int i = 0; i < optimizers.Length; i++)
            {
                optimizers[i] = v.Optimizers[i].Kind;
                optimizerBytes += v.Optimizers[i].StateBytes;
            }
            Optimizers = new TextList(optimizers);
            var rates = new List<double>();
            for (int i = 0; i < v.Optimizers.Count; i++) rates.AddRange(v.Optimizers[i].LearningRates);
            LearningRates = rates.ToArray();
            OptimizerStateBytes = optimizerBytes;
            var schedulers = new string[v.LrSchedulers.Count];
            for (int i = 0; i < schedulers.Length; i++) schedulers[i] = v.LrSchedulers[i].Kind;
            LrSchedulers = new TextList(schedulers);
            var callbacks = new string[v.Callbacks.Count];
            for (int i = 0; i < callbacks.Length; i++) callbacks[i] = v.Callbacks[i].Name;
            Callbacks = new TextList(callbacks);

            var mc = v.ModelCheckpoint;
            Monitor = mc?.Monitor;
            Mode = mc?.Mode;
            BestModelPath = mc?.BestModelPath;
            HyperParameters = HyperParameterRenderer.Render(v.HyperParameters);
            DataModuleHyperParameters = HyperParameterRenderer.Render(v.DataModuleHyperParameters);
            Precision = v.Precision?.Key;
            TopLevelKeys = new TextList(ToArray(v.TopLevelKeys));
            if (c.TextMetadata.Count > 0)
            {
                var metadata = new OrderedDictionary(StringComparer.Ordinal);
                foreach (var kv in c.TextMetadata) metadata[kv.Key] = kv.Value;
                Metadata = metadata.AsReadOnly();
            }

            var globals = new string[c.Globals.Count];
            var unsafeGlobals = new List<string>();
            for (int i = 0; i < globals.Length; i++)
            {
                var g = c.Globals[i];
                globals[i] = g.FullName;
                if (c.GradeOf(g) >= GlobalGrade.Suspicious) unsafeGlobals.Add(globals[i]);
            }
            Globals = new TextList(globals);
            UnsafeGlobals = unsafeGlobals.Count == 0 ? TextList.Empty : new TextList(unsafeGlobals);

            RunVersion = RunLocation.RunVersion(c.FilePath);
            RunName = RunLocation.RunName(c.FilePath);
            ShardCount = c.Sharding?.ShardCount;
            WorldSize = c.Sharding?.WorldSize;
            ZeroStage = c.Sharding?.ZeroStage;
            ShardFiles = c.Sharding == null ? TextList.Empty : new TextList(ToArray(c.Sharding.Files));
            LastWriteTime = c.LastWriteTimeUtc.ToLocalTime();
            if (v.ModelCheckpoints.Count > 0 || v.Precision?.Scale != null)
            {
                using var reader = new TensorDataReader(c);
                if (open != null) reader.Borrow(c.Source, open);
                TensorDataReader.WarmNearbyRemote(ScalarsToRead(v));
                var checkpoints = new CkptModelCheckpoint[v.ModelCheckpoints.Count];
                for (int i = 0; i < checkpoints.Length; i++) checkpoints[i] = new CkptModelCheckpoint(v.ModelCheckpoints[i], c.FilePath, reader);
                ModelCheckpoints = checkpoints;
                if (checkpoints.Length > 0)
                {
                    BestModelScore = checkpoints[0].BestModelScore;
                    CurrentScore = checkpoints[0].CurrentScore;
                    BestKModels = checkpoints[0].BestKModels;
                    KthValue = checkpoints[0].KthValue;
                }
                AmpScale = ScalarOf(v.Precision?.Scale, reader);
            }
        }

        private static string[] ToArray(IReadOnlyList<string> items)
        {
            var a = new string[items.Count];
            for (int i = 0; i < a.Length; i++) a[i] = items[i];
            return a;
        }

        /// <summary>The values this summary reads as numbers (scores, AMP scale): read together, they cost one request by URL.</summary>
        private static IEnumerable<object?> ScalarsToRead(CheckpointView v)
        {
            foreach (var mc in v.ModelCheckpoints)
            {
                yield return mc.BestModelScore;
                yield return mc.KthValue;
                yield return mc.CurrentScore;
                if (mc.BestKModels != null) foreach (var e in mc.BestKModels) yield return e.Value;
            }
            yield return v.Precision?.Scale;
        }

        /// <summary>
        /// A float, an int, or a one-element tensor's value (a few bytes read, never the weights). A float32, float16
        /// or bfloat16 tensor gives the shortest decimal that is that float (0.9, not 0.899999976158142), so the
        /// score prints and compares as the training log showed it.
        /// </summary>
        internal static double? ScalarOf(object? v, TensorDataReader reader)
        {
            switch (v)
            {
                case double d: return d;
                case long l: return l;
                case TensorRef t when t.Numel == 1 && t.HasData:
                    try
                    {
                        var value = reader.ReadScalar(t);
                        return value is double x && t.DType.IsFloatingPoint && t.DType.ItemSize <= 4 ? SinglePrecision.Shortest(x) : value;
                    }
                    catch (CheckpointFormatException) { return null; }
                default: return null;
            }
        }

        /// <summary>Where the checkpoint is read again (piped on): the path, or the URL with its credentials (never shown).</summary>
        internal string ReadFrom { get; }

        /// <summary>What Get-CkptInfo warns about a file whose pickle names globals that would run code; null when none.</summary>
        internal string? SafetyWarning => IsSafe ? null
            : $"{FullName}: the pickle references {UnsafeGlobals}, which torch.load(weights_only=False) would run; LightningCkpt read it without running anything. Run Test-Ckpt for the findings.";

        public override string ToString() => FullName;
    }
}
