using System;
using System.Collections.Generic;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>
    /// The bytes each DCP item occupies in its <c>.distcp</c> file, so that no two items share any: torch writes every
    /// chunk once, at its own range, and chunks that alias one range would make a small folder describe a tensor of any
    /// size (16,384 chunks over one range made a 3.6 MB folder a 16 GiB tensor). The one sharing allowed is a tied
    /// alias: the very same range named by two different keys (one copy on disk, two names). An item's bytes are its
    /// byte range, or, in a safetensors part (where every tensor item records the part's start), its tensor's range
    /// inside the part.
    /// </summary>
    internal sealed class DcpByteRanges
    {
        private readonly Dictionary<string, List<Claim>> _byFile = new Dictionary<string, List<Claim>>(StringComparer.Ordinal);

        /// <summary>
        /// Records that <paramref name="who"/>, an item of key <paramref name="key"/>, occupies <paramref name="length"/>
        /// bytes at <paramref name="begin"/> of <paramref name="path"/> (empty ranges hold nothing and are not recorded).
        /// </summary>
        public void Add(string path, long begin, long length, string key, string who)
        {
            if (length <= 0) return;
            if (!_byFile.TryGetValue(path, out var list)) _byFile.Add(path, list = new List<Claim>());
            list.Add(new Claim(begin, begin + length, key, who));
        }

        /// <summary>Throws a <see cref="CheckpointFormatException"/> naming the file and both items when two ranges of one file overlap.</summary>
        public void RequireDisjoint()
        {
            foreach (var kv in _byFile)
            {
                var list = kv.Value;
                list.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End != b.End ? a.End.CompareTo(b.End) : string.CompareOrdinal(a.Key, b.Key));
                for (int i = 1; i < list.Count; i++)
                {
                    // sorted, the ranges are disjoint or tied aliases exactly when each adjacent pair is
                    var prev = list[i - 1];
                    var next = list[i];
                    if (next.Begin >= prev.End) continue;
                    if (next.Begin == prev.Begin && next.End == prev.End && next.Key != prev.Key) continue;
                    throw new CheckpointFormatException(kv.Key, $"bytes {next.Begin}+{next.End - next.Begin}",
                        $"{next.Who} (bytes [{next.Begin}, {next.End})) overlaps {prev.Who} (bytes [{prev.Begin}, {prev.End})); every chunk has bytes of its own in a DCP checkpoint")
                    {
                        Defect = CheckpointDefect.ViewOutOfBounds,
                    };
                }
            }
        }

        private readonly struct Claim
        {
            public Claim(long begin, long end, string key, string who)
            {
                Begin = begin;
                End = end;
                Key = key;
                Who = who;
            }

            public long Begin { get; }
            public long End { get; }
            public string Key { get; }
            public string Who { get; }
        }
    }
}
