using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LightningCkpt.Container;
using LightningCkpt.Data;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Safety
{
    public sealed class ValidateOptions
    {
        /// <summary>Read every byte and check zip CRC-32s.</summary>
        public bool VerifyCrc { get; set; }

        /// <summary>Scan the floating-point model weights for NaN/Inf (not callback or optimizer state: Lightning
        /// itself saves inf there, e.g. ModelCheckpoint's kth_value before its top-k list is full).</summary>
        public bool CheckValues { get; set; }

        /// <summary>Cancellation and bytes read by -VerifyCrc/-CheckValues; null = not cancellable.</summary>
        public ReadProgress? Progress { get; set; }

        /// <summary>The session that reads URLs (a session of the test's own when null).</summary>
        public Remote.RemoteSession? Remote { get; set; }
    }

    /// <summary>Tests a checkpoint for damage and danger without running anything.</summary>
    public static class CheckpointValidator
    {
        /// <summary>
        /// One result per file: opening problems become an Error finding (IsValid false); an opened file is checked
        /// structurally (zip ranges, storage sizes), optionally byte by byte (CRC, NaN/Inf), and its globals are graded.
        /// </summary>
        public static CkptTestResult Test(string path, ValidateOptions? options = null)
        {
            options ??= new ValidateOptions();
            var findings = new List<CkptFinding>();
            bool remote = LightningCkpt.Remote.RemoteUrl.IsRemote(path);
            var result = new CkptTestResult { FullName = remote ? LightningCkpt.Remote.RemoteUrl.RedactText(path) : path, Name = LightningCkpt.Remote.RemoteUrl.FileNameOf(path) };
            Checkpoint c;
            try
            {
                c = Checkpoint.Open(path, options.Remote);
            }
            catch (CheckpointFormatException e)
            {
                findings.Add(new CkptFinding(Classify(e), FindingSeverity.Error, e.Reason, LocationIn(path, e)));
                return Finish(result, findings);
            }
            catch (Exception e) when ((e is IOException && !(e is LightningCkpt.Remote.RemoteSourceException)) || e is UnauthorizedAccessException)
            {
                // (a URL that cannot be fetched is the caller's error record, RemoteNotFound …, as a missing file is)
                findings.Add(new CkptFinding("Unreadable", FindingSeverity.Error, e.Message, "file"));
                return Finish(result, findings);
            }

            result.Format = c.Format;
            GradeGlobals(c, findings);
            try
            {
                if (c.Zip != null) CheckZipRanges(c.Zip, c.FileLength, findings);
                CheckStorages(c, findings);
                CheckSharding(c, findings);
                if (options.VerifyCrc && c.Zip != null) VerifyCrc(c, findings, options.Progress ?? new ReadProgress());
                if (options.CheckValues) CheckValues(c, findings, options.Progress ?? new ReadProgress());
            }
            catch (CheckpointFormatException e)
            {
                findings.Add(new CkptFinding(Classify(e), FindingSeverity.Error, e.Reason, LocationOf(e)));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                findings.Add(new CkptFinding("Unreadable", FindingSeverity.Error, e.Message, "file"));
            }
            return Finish(result, findings);
        }

        private static CkptTestResult Finish(CkptTestResult r, List<CkptFinding> findings)
        {
            foreach (var f in findings) f.FullName = r.FullName;
            r.Findings = new CkptFindingList(findings);
            r.IsValid = !findings.Any(f => f.Severity == FindingSeverity.Error);
            r.IsSafe = r.IsValid && !findings.Any(f => f.Severity == FindingSeverity.Dangerous || f.Severity == FindingSeverity.Suspicious);
            return r;
        }

        /// <summary>The finding kind for an exception from opening or reading a checkpoint.</summary>
        public static string Classify(CheckpointFormatException e)
        {
            var r = e.Reason;
            if (r.StartsWith(Checkpoint.InternalErrorPrefix, StringComparison.Ordinal)) return "InternalError";
            switch (e.Kind)
            {
                case CheckpointErrorKind.LimitExceeded: return "LimitExceeded";
                case CheckpointErrorKind.Unsupported: return "Unsupported";
                case CheckpointErrorKind.NotACheckpoint: return e.Part == "file header" ? "UnknownFormat" : "NotACheckpoint";
            }
            // the thrower names the damage; the message text is for people, not for this switch
            return e.Defect == CheckpointDefect.None ? "Malformed" : e.Defect.ToString();
        }

        private static string LocationOf(CheckpointFormatException e) => e.Offset >= 0 ? $"{e.Part} at offset {e.Offset}" : e.Part;

        /// <summary>For folders and index files the problem may lie in one of their files: name it.</summary>
        private static string LocationIn(string path, CheckpointFormatException e)
        {
            var where = LocationOf(e);
            if (string.IsNullOrEmpty(e.FilePath) || LightningCkpt.Remote.RemoteUrl.IsRemote(path) || string.Equals(System.IO.Path.GetFullPath(e.FilePath), System.IO.Path.GetFullPath(path), StringComparison.Ordinal)) return where;
            return System.IO.Path.GetFileName(e.FilePath.TrimEnd('/', '\\')) + ": " + where;
        }

        /// <summary>What a sharded checkpoint's reader noticed but could read past (stray files, index totals that disagree).</summary>
        private static void CheckSharding(Checkpoint c, List<CkptFinding> findings)
        {
            if (c.Sharding == null) return;
            // a file a loader would unpickle but we could not read is not known to be inert
            foreach (var u in c.Sharding.UngradedFiles)
                findings.Add(new CkptFinding("UngradedFile", FindingSeverity.Suspicious, u, "sharded checkpoint"));
            foreach (var note in c.Sharding.Notes)
                if (note.IndexOf("does not name", StringComparison.Ordinal) >= 0 || note.IndexOf("total_size", StringComparison.Ordinal) >= 0 || note.IndexOf("left out", StringComparison.Ordinal) >= 0 || note.IndexOf("not in the", StringComparison.Ordinal) >= 0)
                    findings.Add(new CkptFinding("ShardingMismatch", FindingSeverity.Warning, note, "sharded checkpoint"));
            foreach (var entry in c.AllTensors)
            {
                // the reader refuses gaps and overlaps when it opens; this re-check guards the assembled tensors handed on
                if (entry.Tensor.Chunks is { } layout)
                    foreach (var p in layout.Problems())
                        findings.Add(new CkptFinding("ChunkCoverage", FindingSeverity.Error, $"{entry.Path}: {p}", "tensor " + entry.Path));
            }
        }

        /// <summary>
        /// The line a user who trusts the file and has its classes installed runs before torch.load(weights_only=True):
        /// the imports of the refused globals' modules and torch.serialization.add_safe_globals([module.Name, …]).
        /// </summary>
        internal static string SafeGlobalsLine(IEnumerable<PyGlobal> refused)
        {
            var names = refused.Select(g => g.FullName).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList();
            var modules = refused.Select(g => g.Module).Distinct(StringComparer.Ordinal).OrderBy(m => m, StringComparer.Ordinal);
            return string.Join("; ", modules.Select(m => "import " + m)) + "; torch.serialization.add_safe_globals([" + string.Join(", ", names) + "])";
        }

        /// <summary>
        /// Classes the graph fills with dict or list items (AttributeDict, deque …): torch's weights_only loader sets
        /// items only on dict, OrderedDict and Counter and appends only to lists, allow-listed or not.
        /// </summary>
        internal static HashSet<string> ItemFilledClasses(object? root)
        {
            var result = new HashSet<string>(StringComparer.Ordinal);
            var seen = new HashSet<object>(ReferenceComparer.Instance);
            var stack = new Stack<object?>();
            stack.Push(root);
            while (stack.Count > 0)
            {
                var v = stack.Pop();
                if (v == null || v is string || v.GetType().IsPrimitive || !seen.Add(v)) continue;
                switch (v)
                {
                    case PyDict d:
                        if (d.PythonType != null && !d.PythonType.Is("collections", "OrderedDict") && !d.PythonType.Is("collections", "Counter") && d.Count > 0) result.Add(d.PythonType.FullName);
                        foreach (var e in d) { stack.Push(e.Key); stack.Push(e.Value); }
                        break;
                    case PyList l:
                        if (l.PythonType != null && l.Count > 0) result.Add(l.PythonType.FullName);
                        foreach (var x in l) stack.Push(x);
                        break;
                    case PyTuple t: foreach (var x in t) stack.Push(x); break;
                    case PyObject o:
                        if (o.Class != null && ((o.DictItems?.Count ?? 0) > 0 || (o.ListItems?.Count ?? 0) > 0)) result.Add(o.Class.FullName);
                        stack.Push(o.Args); stack.Push(o.State); stack.Push(o.DictItems); stack.Push(o.ListItems);
                        break;
                }
            }
            return result;
        }

        private static void GradeGlobals(Checkpoint c, List<CkptFinding> findings)
        {
            var targets = new List<PyGlobal>();
            var offList = new List<PyGlobal>(); // Unknown or Suspicious: what add_safe_globals would have to name
            bool dangerous = false;
            foreach (var g in c.Globals)
            {
                var use = c.GlobalUse.UseOf(g);
                var paths = use?.Targets ?? (IReadOnlyList<PyGlobal>)new[] { g };
                targets.AddRange(paths);
                var where = "pickle global " + g.FullName;
                var grade = c.GradeOf(g, out var reason);
                if (grade == GlobalGrade.Unknown || grade == GlobalGrade.Suspicious) offList.Add(g);
                dangerous |= grade == GlobalGrade.Dangerous;
                switch (grade)
                {
                    case GlobalGrade.Dangerous:
                        findings.Add(new CkptFinding("DangerousGlobal", FindingSeverity.Dangerous,
                            $"the pickle references {g.FullName}: {reason}, when torch.load(weights_only=False) unpickles it; it is inert here", where));
                        break;
                    case GlobalGrade.Suspicious:
                        findings.Add(new CkptFinding("SuspiciousCall", FindingSeverity.Suspicious,
                            $"the pickle calls {g.FullName}: {reason}, so torch.load(weights_only=False) would run its code; it is inert here", where));
                        break;
                    case GlobalGrade.Unknown:
                        findings.Add(new CkptFinding("UnknownGlobal", FindingSeverity.Info,
                            $"the pickle references {g.FullName}: {reason}; {GlobalGrades.WeightsOnlyRefusal(paths) ?? "torch.load(weights_only=True) would refuse it"}; it is inert here", where));
                        break;
                }
            }
            if (GlobalGrades.WeightsOnlyRefusal(targets, "this file") is { } refusal)
                findings.Add(new CkptFinding("WeightsOnlyRefused", FindingSeverity.Info, refusal + (dangerous ? "" : SafeGlobalsAdvice(c.Root, offList)), "pickle globals"));
        }

        /// <summary>
        /// For a file whose only obstacle to torch.load(weights_only=True) is classes off its allow-list: the line that
        /// lets a user who trusts the file and has its classes installed load it, or why no such line can help, and
        /// the copy that needs none. <paramref name="refused"/>: the globals off the allow-list, user classes the pickle
        /// calls (Suspicious) included, which are what add_safe_globals is for; a file that names code known to run
        /// gets no such advice (the caller passes none).
        /// </summary>
        private static string SafeGlobalsAdvice(object? root, List<PyGlobal> refused)
        {
            if (refused.Count == 0) return "";
            var filled = ItemFilledClasses(root);
            var blocking = refused.Where(g => filled.Contains(g.FullName)).Select(g => g.FullName).Distinct().ToList();
            return blocking.Count == 0
                ? $". If you trust it and have its classes installed, run first: {SafeGlobalsLine(refused)} — or write a copy that needs none with Export-Ckpt -SafeTypes"
                : $". torch.serialization.add_safe_globals cannot help: {string.Join(", ", blocking)} {(blocking.Count == 1 ? "is a dict or list subclass" : "are dict or list subclasses")}, which torch's weights_only loader never fills with items; write a copy that loads with Export-Ckpt -SafeTypes";
        }

        private static void CheckZipRanges(ZipDirectory zip, long fileLength, List<CkptFinding> findings)
        {
            // Local headers are read lazily; a damaged one is a finding here. By URL each header would be a request of
            // its own (hundreds for a Lightning checkpoint): the central directory's sizes give each entry's smallest
            // extent instead (a header of 30 bytes + its name), which can only understate an overlap, never invent
            // one, and every header is still read and checked with its data (-VerifyCrc, any tensor read).
            bool remote = zip.Source?.Remote != null;
            if (!remote) zip.LocateAll();
            var ranges = new List<(long Start, long End, string What)>(zip.Entries.Count + 1);
            foreach (var e in zip.Entries)
            {
                long dataStart = remote && !e.IsLocated ? e.LocalHeaderOffset + 30 + System.Text.Encoding.UTF8.GetByteCount(e.Name) : e.DataOffset;
                ranges.Add((e.LocalHeaderOffset, dataStart + e.CompressedSize, $"entry '{e.Name}'"));
            }
            ranges.Add((zip.CentralDirectoryOffset, zip.CentralDirectorySize + zip.CentralDirectoryOffset, "the central directory"));
            ranges.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.End.CompareTo(b.End));
            int reported = 0;
            // compare each range with the furthest-reaching range before it: catches every overlapping pair's existence
            int far = -1;
            for (int i = 0; i < ranges.Count; i++)
            {
                var cur = ranges[i];
                if (far >= 0 && ranges[far].End > cur.Start && cur.End > cur.Start)
                {
                    if (reported++ < 20)
                        findings.Add(new CkptFinding("OverlappingEntries", FindingSeverity.Error,
                            $"{ranges[far].What} [{ranges[far].Start}, {ranges[far].End}) overlaps {cur.What} [{cur.Start}, {cur.End})",
                            $"zip directory at offset {cur.Start}"));
                }
                if (far < 0 || cur.End > ranges[far].End) far = i;
            }
            if (reported > 20)
                findings.Add(new CkptFinding("OverlappingEntries", FindingSeverity.Error, $"{reported - 20} more overlapping ranges", "zip directory"));

            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in zip.Entries)
                if (!names.Add(e.Name))
                    findings.Add(new CkptFinding("DuplicateEntry", FindingSeverity.Warning, $"the archive holds '{e.Name}' more than once; only the first is read", $"entry '{e.Name}'"));
        }

        private static void CheckStorages(Checkpoint c, List<CkptFinding> findings)
        {
            var used = new HashSet<ZipEntry>();
            foreach (var s in c.Storages)
            {
                if (s.ViewRoot != null) continue;
                if (!s.IsLocated)
                {
                    findings.Add(new CkptFinding("MissingStorage", FindingSeverity.Error, $"{s} has no bytes in the file", $"storage '{s.Key}'"));
                    continue;
                }
                if (s.Entry != null)
                {
                    used.Add(s.Entry);
                    if (s.DeclaredBytes > s.Entry.UncompressedSize)
                        findings.Add(new CkptFinding("StorageSizeMismatch", FindingSeverity.Error,
                            $"storage '{s.Key}' declares {s.DeclaredBytes} bytes but entry '{s.Entry.Name}' holds {s.Entry.UncompressedSize}", $"storage '{s.Key}'"));
                    else if (s.DeclaredBytes < s.Entry.UncompressedSize)
                        findings.Add(new CkptFinding("StorageSizeMismatch", FindingSeverity.Warning,
                            $"storage '{s.Key}' declares {s.DeclaredBytes} bytes but entry '{s.Entry.Name}' holds {s.Entry.UncompressedSize}; the extra bytes are ignored", $"storage '{s.Key}'"));
                }
                else if (s.InlineData == null && s.FileOffset >= 0 && s.DeclaredBytes > LengthOf(c, s) - s.FileOffset)
                {
                    findings.Add(new CkptFinding("Truncated", FindingSeverity.Error, $"storage '{s.Key}' runs past the end of the file", $"storage '{s.Key}'"));
                }
            }
            if (c.Zip != null)
            {
                foreach (var e in c.Zip.Entries)
                {
                    var rel = e.Name.StartsWith(c.Zip.RootPrefix, StringComparison.Ordinal) ? e.Name.Substring(c.Zip.RootPrefix.Length) : e.Name;
                    if (rel.StartsWith("data/", StringComparison.Ordinal) && !used.Contains(e) && c.Zip.Find(rel) == e)
                        findings.Add(new CkptFinding("UnreferencedEntry", FindingSeverity.Info, $"entry '{e.Name}' is not referenced by the pickle", $"entry '{e.Name}'"));
                }
            }
        }

        /// <summary>The length of the file holding a storage's bytes (a shard's own file for sharded checkpoints), as opened.</summary>
        private static long LengthOf(Checkpoint c, StorageRef s) => s.File?.Length ?? c.FileLength;

        private static void VerifyCrc(Checkpoint c, List<CkptFinding> findings, ReadProgress progress)
        {
            var buffer = new byte[1 << 20];
            using var fs = c.Source.OpenForData();
            foreach (var e in c.Zip!.Entries)
            {
                uint crc = 0;
                long total = 0;
                try
                {
                    using Stream src = e.IsStored ? new SubStream(fs, e.DataOffset, e.CompressedSize) : c.Zip.OpenDeflated(fs, e);
                    while (true)
                    {
                        // read at most one byte past the recorded size, so a deflate bomb cannot run on
                        long want = Math.Min(buffer.Length, e.UncompressedSize + 1 - total);
                        if (want <= 0) break;
                        int n = src.Read(buffer, 0, (int)want);
                        if (n <= 0) break;
                        crc = Writing.Crc32.Update(crc, buffer, 0, n);
                        total += n;
                        progress.Advance(n);
                    }
                    // bytes of a file that changed under the read say nothing about the file
                    c.Source.CheckUnchanged(fs, $"entry '{e.Name}'");
                }
                catch (CheckpointFormatException ex) when (ex.Defect != CheckpointDefect.ChangedWhileReading)
                {
                    findings.Add(new CkptFinding("CorruptData", FindingSeverity.Error, ex.Reason, $"entry '{e.Name}'"));
                    continue;
                }
                if (total != e.UncompressedSize)
                {
                    findings.Add(new CkptFinding(total < e.UncompressedSize ? "Truncated" : "Malformed", FindingSeverity.Error,
                        $"entry '{e.Name}' holds {(total > e.UncompressedSize ? "more than " : "")}{total} bytes but the directory records {e.UncompressedSize}", $"entry '{e.Name}'"));
                    continue;
                }
                // torch 2.x writes CRC-32 0 on purpose (compute_crc32=False, skip_data() saves) and never checks it:
                // a recorded 0 means "not recorded", and only its data (other checks) can be judged
                if (e.Crc32 == 0 && crc != 0)
                    findings.Add(new CkptFinding("CrcNotRecorded", FindingSeverity.Info,
                        $"entry '{e.Name}' records CRC-32 0, which torch 2.x writes when it does not compute one", $"entry '{e.Name}'"));
                else if (crc != e.Crc32)
                    findings.Add(new CkptFinding("CrcMismatch", FindingSeverity.Error,
                        $"entry '{e.Name}' has CRC-32 {crc:x8} but the directory records {e.Crc32:x8}", $"entry '{e.Name}'"));
            }
        }

        private static void CheckValues(Checkpoint c, List<CkptFinding> findings, ReadProgress progress)
        {
            using var reader = new TensorDataReader(progress);
            foreach (var entry in c.View.Weights)
            {
                var t = entry.Tensor;
                if (!t.HasData || !(t.DType.IsFloatingPoint || t.DType.IsComplex) || t.Numel == 0) continue;
                long nan = 0, inf = 0;
                int item = t.DType.ItemSize;
                // an expanded view holds its distinct elements repeated: check those, count the repeats
                var distinct = DistinctView.Of(t, out long repeat);
                try
                {
                    DistinctView.CheckWalkable(distinct, c.FilePath);
                    reader.ReadRowMajor(distinct, (b, n) =>
                    {
                        if (t.DType == DType.Float32)
                        {
                            for (int i = 0; i + 4 <= n; i += 4)
                            {
                                // exponent all ones: Inf (mantissa 0) or NaN
                                uint bits = (uint)(b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24);
                                if ((bits & 0x7F800000) == 0x7F800000) { if ((bits & 0x007FFFFF) != 0) nan++; else inf++; }
                            }
                            return;
                        }
                        for (int i = 0; i + item <= n; i += item)
                        {
                            double v = ElementDecoder.ToDouble(b, i, t.DType);
                            if (double.IsNaN(v)) nan++;
                            else if (double.IsInfinity(v)) inf++;
                        }
                    });
                }
                catch (Exception e) when ((e is CheckpointFormatException f && f.Defect != CheckpointDefect.ChangedWhileReading) || e is InvalidOperationException || e is IOException)
                {
                    findings.Add(new CkptFinding("UnreadableData", FindingSeverity.Error, $"{entry.Path}: {e.Message}", "tensor " + entry.Path));
                    continue;
                }
                nan *= repeat;
                inf *= repeat;
                if (nan > 0 || inf > 0)
                    findings.Add(new CkptFinding(CkptTestResult.NonFiniteValuesKind, FindingSeverity.Warning,
                        $"{entry.Path} ({t.DType.Name}, {t.Numel} elements) holds {nan} NaN and {inf} Inf values", "tensor " + entry.Path));
            }
        }
    }
}
