using System;
using System.Collections.Generic;
using LightningCkpt.Data;
using LightningCkpt.Lightning;
using LightningCkpt.Pickle;

namespace LightningCkpt
{
    /// <summary>
    /// One ModelCheckpoint callback's state as saved in a checkpoint file, with its scores as numbers. A run with
    /// several ModelCheckpoint callbacks (val_loss min, val_acc max …) has one of these per callback in every file.
    /// </summary>
    public sealed class CkptModelCheckpoint
    {
        /// <summary>The monitored metric (val_loss …); null when the callback saves without monitoring.</summary>
        public string? Monitor { get; }

        /// <summary>min or max, as configured; Lightning's default is min.</summary>
        public string? Mode { get; }

        /// <summary>
        /// This file's own value of <see cref="Monitor"/>: ModelCheckpoint's current_score when the file was saved (or,
        /// for Lightning before 1.2, this file's entry in best_k_models). Sort by it, not by BestModelScore.
        /// </summary>
        public double? CurrentScore { get; }

        /// <summary>The best score of the run so far when this file was saved (the same in every later file).</summary>
        public double? BestModelScore { get; }
        public string? BestModelPath { get; }

        /// <summary>The top-k files ModelCheckpoint kept so far: path → score, in the saved order.</summary>
        public IReadOnlyDictionary<string, double?> BestKModels { get; }

        /// <summary>The worst score among <see cref="BestKModels"/>: the one a better checkpoint would replace.</summary>
        public double? KthValue { get; }
        public string? KthBestModelPath { get; }
        public string? LastModelPath { get; }

        /// <summary>The callback's state key, e.g. ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', …}.</summary>
        public string? StateKey { get; }

        internal CkptModelCheckpoint(ModelCheckpointState s, string file, TensorDataReader reader)
        {
            Monitor = s.Monitor;
            Mode = s.Mode;
            BestModelScore = CkptInfo.ScalarOf(s.BestModelScore, reader);
            BestModelPath = s.BestModelPath;
            KthValue = CkptInfo.ScalarOf(s.KthValue, reader);
            KthBestModelPath = s.KthBestModelPath;
            LastModelPath = s.LastModelPath;
            StateKey = s.Key;
            var best = new Dictionary<string, double?>(StringComparer.Ordinal);
            if (s.BestKModels != null)
                foreach (var e in s.BestKModels)
                    best[e.Key as string ?? (e.Key as PyPath)?.Path ?? PyRepr.Render(e.Key, 1000)] = CkptInfo.ScalarOf(e.Value, reader);
            BestKModels = best;
            CurrentScore = s.CurrentScore != null ? CkptInfo.ScalarOf(s.CurrentScore, reader) : OwnEntry(best, file);
        }

        /// <summary>
        /// Lightning before 1.2 saved no current_score, but ModelCheckpoint adds a file to best_k_models before saving
        /// it: the entry whose file name is this file's name (when exactly one is) holds its score.
        /// </summary>
        private static double? OwnEntry(Dictionary<string, double?> best, string file)
        {
            string name = System.IO.Path.GetFileName(file);
            double? found = null;
            int matches = 0;
            foreach (var e in best)
            {
                int slash = Math.Max(e.Key.LastIndexOf('/'), e.Key.LastIndexOf('\\'));
                if (string.Equals(e.Key.Substring(slash + 1), name, StringComparison.Ordinal)) { found = e.Value; matches++; }
            }
            return matches == 1 ? found : null;
        }

        public override string ToString() => Monitor == null ? "ModelCheckpoint" : $"ModelCheckpoint({Monitor}, {Mode ?? "min"})";
    }
}
