using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>
    /// What a DCP <c>.metadata</c> may build (<see cref="Limits.MaxDcpMetadataCostFor"/>), measured by the data it
    /// describes that really is on disk, so the cost of opening a folder follows the folder: before the pickle runs,
    /// the bytes the file system stores for the <c>.distcp</c> files (a sparse file's holes count nothing); once it
    /// has run, only the bytes its items reference inside the files it names; and the lists <c>planner_data</c>
    /// paths build (a path <c>(k, 999999)</c> pads a list to a million slots) are charged to the same allowance.
    /// </summary>
    internal sealed class DcpMetadataBudget
    {
        private readonly string _mdPath;
        private readonly long _allowance;
        private readonly long _referenced;
        private long _spent;

        private DcpMetadataBudget(string mdPath, long allowance, long referenced, long spent)
        {
            _mdPath = mdPath;
            _allowance = allowance;
            _referenced = referenced;
            _spent = spent;
        }

        /// <summary>Bytes stored on disk for the listed data files (their holes count nothing); 0 for a folder that cannot be listed (a URL prefix).</summary>
        public static long StoredBytes(ShardFolder folder, IReadOnlyList<KeyValuePair<string, long>>? listed)
        {
            long total = 0;
            if (listed != null)
                foreach (var f in listed)
                    if (folder.SizeOnDisk(f.Key) is { } size) total = Add(total, size.Stored);
            return total;
        }

        /// <summary>
        /// The budget left once the pickle built <paramref name="objectCost"/> estimated bytes, given the items it
        /// records (file name → byte ranges): per file, the bytes referenced inside it, at most what it stores.
        /// Throws LimitExceeded when the pickle already built more than those bytes allow.
        /// </summary>
        public static DcpMetadataBudget After(string mdPath, ShardFolder folder, IEnumerable<DcpItem> items, long objectCost)
        {
            long referenced = 0;
            foreach (var file in items.GroupBy(i => i.File, StringComparer.Ordinal))
            {
                folder.PathOf(file.Key, mdPath); // a name that leaves the folder is refused here, as when it is read
                if (!(folder.SizeOnDisk(file.Key) is { } size)) continue;
                long inFile = 0;
                foreach (var i in file)
                    if (i.Offset >= 0 && i.Length > 0 && i.Offset < size.Length) inFile = Add(inFile, Math.Min(i.Length, size.Length - i.Offset));
                referenced = Add(referenced, Math.Min(inFile, size.Stored));
            }
            var budget = new DcpMetadataBudget(mdPath, Limits.MaxDcpMetadataCostFor(referenced), referenced, 0);
            budget.Charge(objectCost, "its objects");
            return budget;
        }

        /// <summary>Adds <paramref name="bytes"/> estimated bytes built for <paramref name="what"/>; past the allowance, LimitExceeded.</summary>
        public void Charge(long bytes, string what)
        {
            _spent = Add(_spent, bytes);
            if (_spent > _allowance)
                throw new CheckpointFormatException(_mdPath, "pickle",
                    $"the metadata builds more than {_allowance / (1 << 20)} MiB of objects ({what} included), more than the {_referenced} bytes of .distcp data it references on disk allow (Limits.MaxDcpMetadataCostFor: {Limits.DcpMetadataCostPerDataByte} per data byte, at least {Limits.MaxPickleCost / (1 << 20)} MiB)")
                {
                    Kind = CheckpointErrorKind.LimitExceeded,
                };
        }

        private static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
    }
}
