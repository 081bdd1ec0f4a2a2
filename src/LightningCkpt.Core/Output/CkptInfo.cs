using System;
using System.Collections.Generic;
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
        public string Path { get; } = "";
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

        /// <summary>Bytes of optimizer state tensors.</summary>
        public long OptimizerStateBytes { get; }
        public TextList LrSchedulers { get; } = TextList.Empty;

        /// <summary>Callback names with saved state (ModelCheckpoint, EarlyStopping …).</summary>
        public TextList Callbacks { get; } = TextList.Empty;
        public string? Monitor { get; }
        public string? Mode { get; }
        public double? BestModelScore { get; }
        public string? BestModelPath { get; }
        public HyperParameterDictionary? HyperParameters { get; }
        public HyperParameterDictionary? DataModuleHyperParameters { get; }

        /// <summary>The precision plugin state key (MixedPrecision, native_amp_scaling_state …), if saved.</summary>
        public string? Precision { get; }

        /// <summary>The AMP loss scale, if saved.</summary>
        public double? AmpScale { get; }
        public TextList TopLevelKeys { get; } = TextList.Empty;

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

        /// <summary>N from a lightning_logs/version_N/checkpoints/ path.</summary>
        public int? RunVersion { get; }
        public DateTime LastWriteTime { get; }

        /// <summary>Opens <paramref name="path"/> and summarises it.</summary>
        public static CkptInfo Read(string path) => From(Checkpoint.Open(path));

        public static CkptInfo From(Checkpoint c) => new CkptInfo(c, c.View);

        // Plain loops and get-only properties assigned here: the first Get-CkptInfo of a session JIT-compiles every
        // method it touches at tier 0 (no inlining), so each setter, lambda and LINQ instantiation over a value type
        // was one more method compiled before the first result.
        private CkptInfo(Checkpoint c, CheckpointView v)
        {
            Path = c.FilePath;
            Name = System.IO.Path.GetFileName(c.FilePath);
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

            var optimizers = new string[v.Optimizers.Count];
            long optimizerBytes = 0;
            for (int i = 0; i < optimizers.Length; i++)
            {
                optimizers[i] = v.Optimizers[i].Kind;
                optimizerBytes += v.Optimizers[i].StateBytes;
            }
            Optimizers = new TextList(optimizers);
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
            ShardCount = c.Sharding?.ShardCount;
            WorldSize = c.Sharding?.WorldSize;
            ZeroStage = c.Sharding?.ZeroStage;
            ShardFiles = c.Sharding == null ? TextList.Empty : new TextList(ToArray(c.Sharding.Files));
            LastWriteTime = c.LastWriteTimeUtc.ToLocalTime();
            if (mc?.BestModelScore != null || v.Precision?.Scale != null)
            {
                using var reader = new TensorDataReader(c);
                BestModelScore = ScalarOf(mc?.BestModelScore, reader);
                AmpScale = ScalarOf(v.Precision?.Scale, reader);
            }
        }

        private static string[] ToArray(IReadOnlyList<string> items)
        {
            var a = new string[items.Count];
            for (int i = 0; i < a.Length; i++) a[i] = items[i];
            return a;
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

        /// <summary>What Get-CkptInfo warns about a file whose pickle names globals that would run code; null when none.</summary>
        internal string? SafetyWarning => IsSafe ? null
            : $"{Path}: the pickle references {UnsafeGlobals}, which torch.load(weights_only=False) would run; LightningCkpt read it without running anything. Run Test-Ckpt for the findings.";

        public override string ToString() => Path;
    }
}
