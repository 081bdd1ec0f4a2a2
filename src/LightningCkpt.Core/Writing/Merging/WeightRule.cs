using System;
using System.Collections.Generic;

namespace LightningCkpt.Writing.Merging
{
    /// <summary>One entry of -WeightMap: the weights of the tensors whose names the pattern matches.</summary>
    public sealed class WeightRule
    {
        public WeightRule(string pattern, Func<string, bool> matches, IReadOnlyList<double> weights)
        {
            Pattern = pattern ?? throw new ArgumentNullException(nameof(pattern));
            Matches = matches ?? throw new ArgumentNullException(nameof(matches));
            Weights = weights ?? throw new ArgumentNullException(nameof(weights));
        }

        /// <summary>The pattern as the user wrote it (for messages).</summary>
        public string Pattern { get; }

        /// <summary>The matching rule (the cmdlet compiles PowerShell wildcards, case-insensitive).</summary>
        public Func<string, bool> Matches { get; }

        public IReadOnlyList<double> Weights { get; }
    }
}
