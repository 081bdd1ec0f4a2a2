using System;
using System.Collections.Generic;
using System.Linq;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Lightning
{
    /// <summary>
    /// What a checkpoint means to a Lightning user: epoch, step, version, weights, optimizers, schedulers,
    /// callbacks, hyperparameters, precision state. Files that are not Lightning checkpoints open too, with the
    /// weights found where a user would look for them. Built from the object graph alone.
    /// </summary>
    public sealed class CheckpointView
    {
        private static readonly string[] VersionKeys = { "pytorch-lightning_version", "pytorch-ligthning_version", "lightning_version" };

        private CheckpointView() { }

        /// <summary>lightning, state_dict, checkpoint_dict, module, tensor, list, tuple, dict, object, empty.</summary>
        public string Kind { get; private set; } = "object";
        public bool IsLightning { get; private set; }
        public IReadOnlyList<string> TopLevelKeys { get; private set; } = Array.Empty<string>();
        public long? Epoch { get; private set; }
        public long? GlobalStep { get; private set; }
        public string? LightningVersion { get; private set; }
        public string? LegacyLightningVersion { get; private set; }

        /// <summary>Path of the object holding the weights ("state_dict", "model", "" for the top object), or null.</summary>
        public string? WeightsPath { get; private set; }
        public IReadOnlyList<NamedTensor> Weights { get; private set; } = Array.Empty<NamedTensor>();
        public IReadOnlyList<OptimizerSummary> Optimizers { get; private set; } = Array.Empty<OptimizerSummary>();
        public IReadOnlyList<LrSchedulerSummary> LrSchedulers { get; private set; } = Array.Empty<LrSchedulerSummary>();
        public IReadOnlyList<CallbackState> Callbacks { get; private set; } = Array.Empty<CallbackState>();

        /// <summary>ModelCheckpoint's state (the first one, as Lightning's trainer.checkpoint_callback).</summary>
        public ModelCheckpointState? ModelCheckpoint { get; private set; }
        public EarlyStoppingState? EarlyStopping { get; private set; }

        public object? HyperParameters { get; private set; }
        public object? DataModuleHyperParameters { get; private set; }
        public string? HParamsName { get; private set; }

        /// <summary>The precision plugin / AMP scaler state, if any.</summary>
        public PrecisionState? Precision { get; private set; }
        public PyDict? Loops { get; private set; }

        public static CheckpointView From(object? root)
        {
            var v = new CheckpointView();
            var (weights, weightsPath) = WeightsLocator.Locate(root);
            v.Weights = weights;
            v.WeightsPath = weightsPath;
            switch (root)
            {
                case TensorRef: v.Kind = "tensor"; return v;
                case PyList: v.Kind = "list"; return v;
                case PyTuple: v.Kind = "tuple"; return v;
                case PyObject: v.Kind = weights.Count > 0 ? "module" : "object"; return v;
                case PyDict d: v.ReadDict(d); return v;
                case null: v.Kind = "empty"; return v;
                default: v.Kind = "object"; return v;
            }
        }

        private void ReadDict(PyDict d)
        {
            TopLevelKeys = d.Keys.Select(k => PyRepr.KeySegment(k)).ToArray();
            foreach (var key in VersionKeys) if (d.Get(key) is string ver) { LightningVersion = ver; break; }
            LegacyLightningVersion = d.Get("legacy_pytorch-lightning_version") as string;
            Epoch = AsLong(d.Get("epoch"));
            GlobalStep = AsLong(d.Get("global_step"));
            IsLightning = LightningVersion != null || (Epoch != null && GlobalStep != null && d.ContainsKey("state_dict"));
            Kind = IsLightning ? "lightning" : WeightsPath == "" ? "state_dict" : Weights.Count > 0 ? "checkpoint_dict" : d.Count == 0 ? "empty" : "dict";

            var optimizers = d.Get("optimizer_states") as PyList ?? (d.Get("optimizer") is PyDict single ? new PyList { single } : null)
                ?? (d.Get("optimizer_state_dict") is PyDict single2 ? new PyList { single2 } : null);
            if (optimizers != null) Optimizers = optimizers.Select((o, i) => OptimizerSummary.From(i, o)).ToArray();
            var schedulers = d.Get("lr_schedulers") as PyList ?? (d.Get("lr_scheduler") is PyDict s1 ? new PyList { s1 } : d.Get("scheduler") is PyDict s2 ? new PyList { s2 } : null);
            if (schedulers != null) LrSchedulers = schedulers.Select((o, i) => LrSchedulerSummary.From(i, o)).ToArray();

            if (d.Get("callbacks") is PyDict callbacks)
                Callbacks = callbacks.Select(e => CallbackState.From(e.Key, e.Value)).ToArray();
            var mc = Callbacks.FirstOrDefault(c => c.Name == "ModelCheckpoint" || c.Name.EndsWith("ModelCheckpoint", StringComparison.Ordinal));
            if (mc?.State != null) ModelCheckpoint = ModelCheckpointState.From(mc);
            else if (d.ContainsKey("checkpoint_callback_best_model_score") || d.ContainsKey("checkpoint_callback_best"))
                ModelCheckpoint = ModelCheckpointState.FromLegacy(d);
            var es = Callbacks.FirstOrDefault(c => c.Name == "EarlyStopping" || c.Name.EndsWith("EarlyStopping", StringComparison.Ordinal));
            if (es?.State != null) EarlyStopping = EarlyStoppingState.From(es);
            else if (d.ContainsKey("early_stop_callback_wait")) EarlyStopping = EarlyStoppingState.FromLegacy(d);

            HyperParameters = d.Get("hyper_parameters") ?? d.Get("hparams");
            DataModuleHyperParameters = d.Get("datamodule_hyper_parameters");
            HParamsName = d.Get("hparams_name") as string;
            Loops = d.Get("loops") as PyDict;
            Precision = PrecisionState.Find(d);
        }

        internal static long? AsLong(object? v) => v switch
        {
            long l => l,
            bool b => b ? 1 : 0,
            double x when x == Math.Floor(x) && Math.Abs(x) < 9e18 => (long)x,
            _ => null,
        };
    }

    /// <summary>ModelCheckpoint's saved state: what it monitors and its best results so far.</summary>
    public sealed class ModelCheckpointState
    {
        public string? Monitor { get; private set; }
        public string? Mode { get; private set; }

        /// <summary>The best score as pickled: a 0-dim tensor, a float, or null.</summary>
        public object? BestModelScore { get; private set; }
        public string? BestModelPath { get; private set; }
        public object? CurrentScore { get; private set; }
        public string? DirPath { get; private set; }
        public string? LastModelPath { get; private set; }
        public string? KthBestModelPath { get; private set; }

        /// <summary>path → score (tensor or float), as saved.</summary>
        public PyDict? BestKModels { get; private set; }

        internal static ModelCheckpointState From(CallbackState c)
        {
            var s = c.State!;
            return new ModelCheckpointState
            {
                Monitor = s.Get("monitor") as string ?? c.KeyArguments.Get("monitor") as string,
                Mode = c.KeyArguments.Get("mode") as string ?? s.Get("mode") as string,
                BestModelScore = s.Get("best_model_score"),
                BestModelPath = Text(s.Get("best_model_path")),
                CurrentScore = s.Get("current_score"),
                DirPath = Text(s.Get("dirpath")),
                LastModelPath = Text(s.Get("last_model_path")),
                KthBestModelPath = Text(s.Get("kth_best_model_path")),
                BestKModels = s.Get("best_k_models") as PyDict,
            };
        }

        internal static ModelCheckpointState FromLegacy(PyDict d) => new ModelCheckpointState
        {
            BestModelScore = d.Get("checkpoint_callback_best_model_score") ?? d.Get("checkpoint_callback_best"),
            BestModelPath = Text(d.Get("checkpoint_callback_best_model_path")),
        };

        private static string? Text(object? v) => v switch { null => null, string s => s, PyPath p => p.Path, _ => PyRepr.Render(v, 1000) };
    }

    /// <summary>EarlyStopping's saved state.</summary>
    public sealed class EarlyStoppingState
    {
        public string? Monitor { get; private set; }
        public string? Mode { get; private set; }
        public long? WaitCount { get; private set; }
        public long? StoppedEpoch { get; private set; }
        public long? Patience { get; private set; }
        public object? BestScore { get; private set; }

        internal static EarlyStoppingState From(CallbackState c)
        {
            var s = c.State!;
            return new EarlyStoppingState
            {
                Monitor = c.KeyArguments.Get("monitor") as string ?? s.Get("monitor") as string,
                Mode = c.KeyArguments.Get("mode") as string ?? s.Get("mode") as string,
                WaitCount = CheckpointView.AsLong(s.Get("wait_count") ?? s.Get("wait")),
                StoppedEpoch = CheckpointView.AsLong(s.Get("stopped_epoch")),
                Patience = CheckpointView.AsLong(s.Get("patience")),
                BestScore = s.Get("best_score"),
            };
        }

        internal static EarlyStoppingState FromLegacy(PyDict d) => new EarlyStoppingState
        {
            WaitCount = CheckpointView.AsLong(d.Get("early_stop_callback_wait")),
            Patience = CheckpointView.AsLong(d.Get("early_stop_callback_patience")),
        };
    }

    /// <summary>The precision plugin's state (AMP GradScaler): which key holds it and the loss scale.</summary>
    public sealed class PrecisionState
    {
        private PrecisionState(string key, object? scale, PyDict state)
        {
            Key = key;
            Scale = scale;
            State = state;
        }

        /// <summary>The top-level key: MixedPrecision, NativeMixedPrecisionPlugin, native_amp_scaling_state …</summary>
        public string Key { get; }

        /// <summary>The loss scale as pickled (float or 0-dim tensor).</summary>
        public object? Scale { get; }
        public PyDict State { get; }

        internal static PrecisionState? Find(PyDict d)
        {
            foreach (var e in d)
            {
                if (e.Key is not string k || e.Value is not PyDict s) continue;
                if (k.EndsWith("Precision", StringComparison.Ordinal) || k.EndsWith("PrecisionPlugin", StringComparison.Ordinal) ||
                    k == "native_amp_scaling_state" || k == "amp_scaling_state" || (s.ContainsKey("scale") && s.ContainsKey("growth_factor")))
                    return new PrecisionState(k, s.Get("scale"), s);
            }
            return null;
        }
    }
}
