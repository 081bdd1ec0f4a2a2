using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
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
        private CkptInfo() { }

        public string Path { get; private set; } = "";
        public string Name { get; private set; } = "";
        public long Length { get; private set; }
        public CheckpointFormat Format { get; private set; }

        /// <summary>lightning, state_dict, checkpoint_dict, module, tensor, list, tuple, dict, object.</summary>
        public string Kind { get; private set; } = "";
        public int PickleProtocol { get; private set; }
        public string? LightningVersion { get; private set; }
        public int? Epoch { get; private set; }
        public long? GlobalStep { get; private set; }

        /// <summary>Number of model weight tensors.</summary>
        public int TensorCount { get; private set; }

        /// <summary>Elements in the model weights.</summary>
        public long ParameterCount { get; private set; }

        /// <summary>Bytes of the model weights.</summary>
        public long WeightsBytes { get; private set; }

        /// <summary>Every tensor anywhere in the file (weights, optimizer state, callbacks …).</summary>
        public int AllTensorCount { get; private set; }

        /// <summary>Distinct dtypes of the model weights.</summary>
        public TextList DTypes { get; private set; } = TextList.Empty;

        /// <summary>Optimizer kinds, one per optimizer state (Adam/AdamW, SGD (momentum) …).</summary>
        public TextList Optimizers { get; private set; } = TextList.Empty;

        /// <summary>Bytes of optimizer state tensors.</summary>
        public long OptimizerStateBytes { get; private set; }
        public TextList LrSchedulers { get; private set; } = TextList.Empty;

        /// <summary>Callback names with saved state (ModelCheckpoint, EarlyStopping …).</summary>
        public TextList Callbacks { get; private set; } = TextList.Empty;
        public string? Monitor { get; private set; }
        public string? Mode { get; private set; }
        public double? BestModelScore { get; private set; }
        public string? BestModelPath { get; private set; }
        public HyperParameterDictionary? HyperParameters { get; private set; }
        public HyperParameterDictionary? DataModuleHyperParameters { get; private set; }

        /// <summary>The precision plugin state key (MixedPrecision, native_amp_scaling_state …), if saved.</summary>
        public string? Precision { get; private set; }

        /// <summary>The AMP loss scale, if saved.</summary>
        public double? AmpScale { get; private set; }
        public TextList TopLevelKeys { get; private set; } = TextList.Empty;

        /// <summary>Every global the pickle references ("module.name").</summary>
        public TextList Globals { get; private set; } = TextList.Empty;

        /// <summary>Globals graded dangerous: they would run code in torch.load(weights_only=False).</summary>
        public TextList UnsafeGlobals { get; private set; } = TextList.Empty;

        /// <summary>
        /// False when the pickle names a global that would run code in torch.load(weights_only=False) (listed in
        /// <see cref="UnsafeGlobals"/>). Judged from the globals only; Test-Ckpt also checks the file's structure.
        /// </summary>
        public bool IsSafe => UnsafeGlobals.Count == 0;

        /// <summary>Data files of a sharded checkpoint (shards, .distcp files, per-rank optimizer files); null for single files.</summary>
        public int? ShardCount { get; private set; }

        /// <summary>Ranks that wrote a sharded checkpoint (DCP rank prefixes, DeepSpeed partition count), when recorded.</summary>
        public int? WorldSize { get; private set; }

        /// <summary>DeepSpeed ZeRO stage; null for other formats.</summary>
        public int? ZeroStage { get; private set; }

        /// <summary>Every file a sharded checkpoint was read from (metadata, index and data files); empty for single files.</summary>
        public TextList ShardFiles { get; private set; } = TextList.Empty;

        /// <summary>N from a lightning_logs/version_N/checkpoints/ path.</summary>
        public int? RunVersion { get; private set; }
        public DateTime LastWriteTime { get; private set; }

        /// <summary>Opens <paramref name="path"/> and summarises it.</summary>
        public static CkptInfo Read(string path) => From(Checkpoint.Open(path));

        public static CkptInfo From(Checkpoint c)
        {
            var v = c.View;
            var info = new CkptInfo
            {
                Path = c.FilePath,
                Name = System.IO.Path.GetFileName(c.FilePath),
                Length = c.FileLength,
                Format = c.Format,
                Kind = v.Kind,
                PickleProtocol = c.Protocol,
                LightningVersion = v.LightningVersion ?? v.LegacyLightningVersion,
                Epoch = v.Epoch is long e && e >= int.MinValue && e <= int.MaxValue ? (int)e : null,
                GlobalStep = v.GlobalStep,
                TensorCount = v.Weights.Count,
                ParameterCount = v.Weights.Sum(w => w.Tensor.Numel),
                WeightsBytes = v.Weights.Sum(w => w.Tensor.NBytes),
                AllTensorCount = c.AllTensors.Count,
                DTypes = new TextList(v.Weights.Select(w => w.Tensor.DType.Name).Distinct().ToList()),
                Optimizers = new TextList(v.Optimizers.Select(o => o.Kind).ToList()),
                OptimizerStateBytes = v.Optimizers.Sum(o => o.StateBytes),
                LrSchedulers = new TextList(v.LrSchedulers.Select(s => s.Kind).ToList()),
                Callbacks = new TextList(v.Callbacks.Select(cb => cb.Name).ToList()),
                Monitor = v.ModelCheckpoint?.Monitor,
                Mode = v.ModelCheckpoint?.Mode,
                BestModelPath = v.ModelCheckpoint?.BestModelPath,
                HyperParameters = HyperParameterRenderer.Render(v.HyperParameters),
                DataModuleHyperParameters = HyperParameterRenderer.Render(v.DataModuleHyperParameters),
                Precision = v.Precision?.Key,
                TopLevelKeys = new TextList(v.TopLevelKeys.ToList()),
                Globals = new TextList(c.Globals.Select(g => g.FullName).ToList()),
                UnsafeGlobals = new TextList(c.Globals.Where(g => c.GradeOf(g) == GlobalGrade.Dangerous).Select(g => g.FullName).ToList()),
                RunVersion = RunLocation.RunVersion(c.FilePath),
                ShardCount = c.Sharding?.ShardCount,
                WorldSize = c.Sharding?.WorldSize,
                ZeroStage = c.Sharding?.ZeroStage,
                ShardFiles = c.Sharding == null ? TextList.Empty : new TextList(c.Sharding.Files.ToList()),
                LastWriteTime = c.LastWriteTimeUtc.ToLocalTime(),
            };
            if (v.ModelCheckpoint?.BestModelScore != null || v.Precision?.Scale != null)
            {
                using var reader = new TensorDataReader(c);
                info.BestModelScore = ScalarOf(v.ModelCheckpoint?.BestModelScore, reader);
                info.AmpScale = ScalarOf(v.Precision?.Scale, reader);
            }
            return info;
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
