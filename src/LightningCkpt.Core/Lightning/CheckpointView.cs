using System;
using System.Collections.Generic;
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

        /// <summary>lightning, state_dict, checkpoint_dict, module, tensor, list, tuple, dict, object, empty.</summary>
        public string Kind { get; } = "object";
        public bool IsLightning { get; }
        public IReadOnlyList<string> TopLevelKeys { get; } = Array.Empty<string>();
        public long? Epoch { get; }
        public long? GlobalStep { get; }
        public string? LightningVersion { get; }
        public string? LegacyLightningVersion { get; }

        /// <summary>Path of the object holding the weights ("state_dict", "model", "" for the top object), or null.</summary>
        public string? WeightsPath { get; }
        public IReadOnlyList<NamedTensor> Weights { get; } = Array.Empty<NamedTensor>();
        public IReadOnlyList<OptimizerSummary> Optimizers { get; } = Array.Empty<OptimizerSummary>();
        public IReadOnlyList<LrSchedulerSummary> LrSchedulers { get; } = Array.Empty<LrSchedulerSummary>();
        public IReadOnlyList<CallbackState> Callbacks { get; } = Array.Empty<CallbackState>();

        /// <summary>ModelCheckpoint's state (the first one, as Lightning's trainer.checkpoint_callback).</summary>
        public ModelCheckpointState? ModelCheckpoint { get; }

        /// <summary>Every ModelCheckpoint callback's state, in the file's order (the first is <see cref="ModelCheckpoint"/>).</summary>
        public IReadOnlyList<ModelCheckpointState> ModelCheckpoints { get; } = Array.Empty<ModelCheckpointState>();
        public EarlyStoppingState? EarlyStopping { get; }

        public object? HyperParameters { get; }
        public object? DataModuleHyperParameters { get; }
        public string? HParamsName { get; }

        /// <summary>The precision plugin / AMP scaler state, if any.</summary>
        public PrecisionState? Precision { get; }
        public PyDict? Loops { get; }

        public static CheckpointView From(object? root) => new CheckpointView(root);

        // Get-only properties assigned here and plain loops: the first Get-CkptInfo of a session compiles every method it
        // touches, and each setter or lambda was one more (see CkptInfo's constructor).
        private CheckpointView(object? root)
        {
            var (weights, weightsPath) = WeightsLocator.Locate(root);
            Weights = weights;
            WeightsPath = weightsPath;
            switch (root)
            {
                case TensorRef: Kind = "tensor"; return;
                case PyList: Kind = "list"; return;
                case PyTuple: Kind = "tuple"; return;
                case PyObject: Kind = weights.Count > 0 ? "module" : "object"; return;
                case null: Kind = "empty"; return;
                case PyDict: break;
                default: Kind = "object"; return;
            }
            var d = (PyDict)root;

            var entries = d.Entries;
            var keys = new string[entries.Count];
            for (int i = 0; i < keys.Length; i++) keys[i] = PyRepr.KeySegment(entries[i].Key);
            TopLevelKeys = keys;
            foreach (var key in VersionKeys) if (d.Get(key) is string ver) { LightningVersion = ver; break; }
            LegacyLightningVersion = d.Get("legacy_pytorch-lightning_version") as string;
            Epoch = AsLong(d.Get("epoch"));
            GlobalStep = AsLong(d.Get("global_step"));
            IsLightning = LightningVersion != null || (Epoch != null && GlobalStep != null && d.ContainsKey("state_dict"));
            Kind = IsLightning ? "lightning" : WeightsPath == "" ? "state_dict" : Weights.Count > 0 ? "checkpoint_dict" : d.Count == 0 ? "empty" : "dict";

            var optimizers = d.Get("optimizer_states") as PyList ?? (d.Get("optimizer") is PyDict single ? new PyList { single } : null)
                ?? (d.Get("optimizer_state_dict") is PyDict single2 ? new PyList { single2 } : null);
            if (optimizers != null)
            {
                var summaries = new OptimizerSummary[optimizers.Count];
                for (int i = 0; i < summaries.Length; i++) summaries[i] = OptimizerSummary.From(i, optimizers[i]);
                Optimizers = summaries;
            }
            var schedulers = d.Get("lr_schedulers") as PyList ?? (d.Get("lr_scheduler") is PyDict s1 ? new PyList { s1 } : d.Get("scheduler") is PyDict s2 ? new PyList { s2 } : null);
            if (schedulers != null)
            {
                var summaries = new LrSchedulerSummary[schedulers.Count];
                for (int i = 0; i < summaries.Length; i++) summaries[i] = LrSchedulerSummary.From(i, schedulers[i]);
                LrSchedulers = summaries;
            }

            if (d.Get("callbacks") is PyDict callbacks)
            {
                var states = new CallbackState[callbacks.Count];
                var items = callbacks.Entries;
                for (int i = 0; i < states.Length; i++) states[i] = CallbackState.From(items[i].Key, items[i].Value);
                Callbacks = states;
            }
            var checkpointCallbacks = new List<ModelCheckpointState>();
            for (int i = 0; i < Callbacks.Count; i++)
                if (IsNamed(Callbacks[i], "ModelCheckpoint") && Callbacks[i].State != null) checkpointCallbacks.Add(ModelCheckpointState.From(Callbacks[i]));
            if (checkpointCallbacks.Count > 0)
            {
                ModelCheckpoints = checkpointCallbacks;
                ModelCheckpoint = checkpointCallbacks[0];
            }
            else if (d.ContainsKey("checkpoint_callback_best_model_score") || d.ContainsKey("checkpoint_callback_best"))
            {
                ModelCheckpoint = ModelCheckpointState.FromLegacy(d);
                ModelCheckpoints = new[] { ModelCheckpoint };
            }
            var es = FirstCallback("EarlyStopping");
            if (es?.State != null) EarlyStopping = EarlyStoppingState.From(es);
            else if (d.ContainsKey("early_stop_callback_wait")) EarlyStopping = EarlyStoppingState.FromLegacy(d);

            HyperParameters = d.Get("hyper_parameters") ?? d.Get("hparams");
            DataModuleHyperParameters = d.Get("datamodule_hyper_parameters");
            HParamsName = d.Get("hparams_name") as string;
            Loops = d.Get("loops") as PyDict;
            Precision = PrecisionState.Find(d);
        }

        /// <summary>The first callback named <paramref name="name"/> or a subclass spelled *<paramref name="name"/>.</summary>
        private CallbackState? FirstCallback(string name)
        {
            for (int i = 0; i < Callbacks.Count; i++)
                if (IsNamed(Callbacks[i], name)) return Callbacks[i];
            return null;
        }

        private static bool IsNamed(CallbackState c, string name) => c.Name == name || c.Name.EndsWith(name, StringComparison.Ordinal);

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
        private ModelCheckpointState(string? monitor, string? mode, object? bestModelScore, string? bestModelPath, object? currentScore = null,
            string? dirPath = null, string? lastModelPath = null, string? kthBestModelPath = null, PyDict? bestKModels = null,
            object? kthValue = null, string? key = null)
        {
            KthValue = kthValue;
            Key = key;
            Monitor = monitor;
            Mode = mode;
            BestModelScore = bestModelScore;
            BestModelPath = bestModelPath;
            CurrentScore = currentScore;
            DirPath = dirPath;
            LastModelPath = lastModelPath;
            KthBestModelPath = kthBestModelPath;
            BestKModels = bestKModels;
        }

        public string? Monitor { get; }
        public string? Mode { get; }

        /// <summary>The best score as pickled: a 0-dim tensor, a float, or null.</summary>
        public object? BestModelScore { get; }
        public string? BestModelPath { get; }
        public object? CurrentScore { get; }
        public string? DirPath { get; }
        public string? LastModelPath { get; }
        public string? KthBestModelPath { get; }

        /// <summary>path → score (tensor or float), as saved.</summary>
        public PyDict? BestKModels { get; }

        /// <summary>The worst score among <see cref="BestKModels"/> (the one a better checkpoint replaces), as pickled.</summary>
        public object? KthValue { get; }

        /// <summary>The callback's state key (tells several ModelCheckpoint callbacks apart); null for the legacy top-level keys.</summary>
        public string? Key { get; }

        internal static ModelCheckpointState From(CallbackState c)
        {
            var s = c.State!;
            return new ModelCheckpointState(
                monitor: s.Get("monitor") as string ?? c.KeyArguments.Get("monitor") as string,
                mode: c.KeyArguments.Get("mode") as string ?? s.Get("mode") as string,
                bestModelScore: s.Get("best_model_score"),
                bestModelPath: Text(s.Get("best_model_path")),
                currentScore: s.Get("current_score"),
                dirPath: Text(s.Get("dirpath")),
                lastModelPath: Text(s.Get("last_model_path")),
                kthBestModelPath: Text(s.Get("kth_best_model_path")),
                bestKModels: s.Get("best_k_models") as PyDict,
                kthValue: s.Get("kth_value"),
                key: c.Key);
        }

        internal static ModelCheckpointState FromLegacy(PyDict d) => new ModelCheckpointState(null, null,
            d.Get("checkpoint_callback_best_model_score") ?? d.Get("checkpoint_callback_best"),
            Text(d.Get("checkpoint_callback_best_model_path")));

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
