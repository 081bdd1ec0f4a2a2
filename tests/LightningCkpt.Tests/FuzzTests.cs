using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LightningCkpt.Data;
using LightningCkpt.Safety;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Seeded, bounded mutation fuzzing of every reader: each case takes one corpus file (fixtures, real-world files
    /// when present, the hostile corpus), mutates it, and runs Checkpoint.Open, CkptInfo.From, CkptTensor.List and
    /// (for some cases) tensor hashing and Test-Ckpt. Each outcome must be success or a CheckpointFormatException that
    /// is not an internal error. About 20 000 cases by default; a long run:
    ///   LIGHTNINGCKPT_FUZZ_CASES=1000000 dotnet test tests/LightningCkpt.Tests -c Release --filter FullyQualifiedName~Fuzz
    /// LIGHTNINGCKPT_FUZZ_SEED picks another seed; LIGHTNINGCKPT_FUZZ_CASE=n re-runs one case of a seed. If the test host
    /// crashes (stack overflow), $TMPDIR/lightningckpt-fuzz-&lt;pid&gt;/w&lt;worker&gt;.pt(.inflight) hold the case that was running.
    /// </summary>
    public class FuzzTests
    {
        private readonly ITestOutputHelper _out;
        public FuzzTests(ITestOutputHelper output) => _out = output;

        private const int DefaultCases = 20_000;
        private const int DefaultSeed = 0x5AFE7;
        private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(10);

        private sealed class Source
        {
            public Source(string name, byte[] bytes) { Name = name; Bytes = bytes; Zip = FuzzZip.Read(bytes); }
            public string Name { get; }
            public byte[] Bytes { get; }
            public List<FuzzZip.Item>? Zip { get; }
        }

        private static List<Source> LoadCorpus()
        {
            var files = new List<string>();
            files.AddRange(Directory.GetFiles(RepoPaths.FixtureFiles));
            if (Directory.Exists(RepoPaths.RealworldFiles)) files.AddRange(Directory.GetFiles(RepoPaths.RealworldFiles));
            files.AddRange(Directory.GetFiles(SafetyTests.MaliciousDir, "*.pt"));
            return files.OrderBy(f => f, StringComparer.Ordinal).Select(f => new Source(Path.GetFileName(f), File.ReadAllBytes(f))).ToList();
        }

        private static int EnvInt(string name, int fallback) =>
            int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;

        [Fact]
        public async Task MutatedCheckpointsFailCleanly()
        {
            int cases = EnvInt("LIGHTNINGCKPT_FUZZ_CASES", DefaultCases);
            int seed = EnvInt("LIGHTNINGCKPT_FUZZ_SEED", DefaultSeed);
            int only = EnvInt("LIGHTNINGCKPT_FUZZ_CASE", -1);
            var corpus = LoadCorpus();
            Assert.True(corpus.Count >= 40);

            var dir = Path.Combine(Path.GetTempPath(), $"lightningckpt-fuzz-{Environment.ProcessId}");
            Directory.CreateDirectory(dir);
            var failures = new ConcurrentQueue<string>();
            var outcomes = new long[3]; // opened, clean error, failure
            var running = new ConcurrentDictionary<int, (long Case, string What, Stopwatch Clock)>();
            var sw = Stopwatch.StartNew();
            int next = only >= 0 ? only : 0, end = only >= 0 ? only + 1 : cases;

            var work = Task.Run(() => Parallel.For(0, Environment.ProcessorCount, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, worker =>
            {
                var path = Path.Combine(dir, $"w{worker}.pt");
                while (true)
                {
                    int k = Interlocked.Increment(ref next) - 1;
                    if (k >= end || failures.Count >= 20) break;
                    var rng = new Random(unchecked(seed * 1_000_003 + k));
                    var src = corpus[rng.Next(corpus.Count)];
                    var (bytes, what) = Mutate(rng, src, corpus);
                    var desc = $"seed {seed} case {k}: {src.Name}, {what}";
                    running[worker] = (k, desc, Stopwatch.StartNew());
                    // a stack overflow kills the test host without a word: the in-flight file names the case
                    File.WriteAllText(path + ".inflight", desc);
                    File.WriteAllBytes(path, bytes);
                    int outcome = RunCase(path, k, desc, failures);
                    Interlocked.Increment(ref outcomes[outcome]);
                    if (outcome == 2)
                    {
                        try { File.Copy(path, Path.Combine(dir, $"failure-seed{seed}-case{k}.pt"), true); } catch (IOException) { }
                    }
                    running.TryRemove(worker, out _);
                }
            }));

            while (await Task.WhenAny(work, Task.Delay(250)) != work)
            {
                foreach (var r in running.Values)
                    if (r.Clock.Elapsed > Watchdog)
                        Assert.Fail($"hang: {r.What} runs longer than {Watchdog.TotalSeconds} s (input in {dir})");
            }
            await work;
            _out.WriteLine($"{end - (only >= 0 ? only : 0)} cases over {corpus.Count} files in {sw.Elapsed.TotalSeconds:F1} s: " +
                           $"{outcomes[0]} opened, {outcomes[1]} clean CheckpointFormatException, {outcomes[2]} failures");
            if (failures.IsEmpty) { try { Directory.Delete(dir, true); } catch (IOException) { } }
            Assert.True(failures.IsEmpty, $"{failures.Count} fuzz failures (inputs kept in {dir}):\n" + string.Join("\n\n", failures.Take(10)));
        }

        private const int DefaultTruncationCases = 1_000;

        /// <summary>
        /// Issue 12: mutations of the storage bytes and of the zip central directory, each read while another thread
        /// truncates the file or rewrites it in place (as torch.save does to last.ckpt) at a random moment. Every
        /// outcome must be a result or a clean CheckpointFormatException (ChangedWhileReading or a format defect),
        /// never an IOException, an internal error or a crash. LIGHTNINGCKPT_FUZZ_TRUNCATION_CASES sets the count.
        /// </summary>
        [Fact]
        public void StorageAndDirectoryMutationsUnderConcurrentTruncationFailCleanly()
        {
            int cases = EnvInt("LIGHTNINGCKPT_FUZZ_TRUNCATION_CASES", DefaultTruncationCases);
            int seed = EnvInt("LIGHTNINGCKPT_FUZZ_SEED", DefaultSeed);
            var zips = LoadCorpus().Where(s => s.Zip != null && s.Zip.Any(IsStorage)).ToList();
            Assert.True(zips.Count >= 10, $"only {zips.Count} zip checkpoints with storages in the corpus");
            var dir = Path.Combine(Path.GetTempPath(), $"lightningckpt-fuzz-trunc-{Environment.ProcessId}");
            Directory.CreateDirectory(dir);
            var failures = new ConcurrentQueue<string>();
            var outcomes = new long[3];
            long changed = 0, overlapped = 0;
            var sw = Stopwatch.StartNew();
            Parallel.For(0, cases, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, k =>
            {
                if (failures.Count >= 20) return;
                var rng = new Random(unchecked(seed * 7_000_003 + k));
                var src = zips[rng.Next(zips.Count)];
                var (bytes, what) = MutateStoragesOrDirectory(rng, src, zips);
                var path = Path.Combine(dir, $"c{k}.pt");
                File.WriteAllBytes(path, bytes);
                // the change: a shorter file (a save cut short) or another mutant written over it in place
                bool truncate = rng.Next(2) == 0;
                byte[] replacement = truncate ? Array.Empty<byte>() : MutateStoragesOrDirectory(rng, zips[rng.Next(zips.Count)], zips).bytes;
                long cut = rng.Next(bytes.Length);
                int spin = rng.Next(10_000);
                var desc = $"seed {seed} truncation case {k}: {src.Name}, {what}, then {(truncate ? $"truncated to {cut}" : $"rewritten in place with {replacement.Length} bytes")} after {spin} spins";
                var reading = new ManualResetEventSlim();
                var ready = new ManualResetEventSlim();
                // a thread of its own, started before the read: queued on the pool behind Parallel.For's workers it
                // ran only after the read had ended on a quiet machine, and no read ever saw a change
                var changer = Task.Factory.StartNew(() =>
                {
                    ready.Set();
                    reading.Wait();
                    Thread.SpinWait(spin);
                    using var fs = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                    if (truncate) fs.SetLength(cut);
                    else { fs.SetLength(0); fs.Write(replacement, 0, replacement.Length); }
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                ready.Wait();
                reading.Set();
                int outcome = RunCase(path, 0, desc, failures, e => { if (e.Defect == CheckpointDefect.ChangedWhileReading) Interlocked.Increment(ref changed); });
                if (!changer.IsCompleted) Interlocked.Increment(ref overlapped);
                changer.Wait();
                Interlocked.Increment(ref outcomes[outcome]);
                if (outcome == 2) File.WriteAllBytes(Path.Combine(dir, $"failure-seed{seed}-case{k}.pt"), bytes);
                File.Delete(path);
            });
            _out.WriteLine($"{cases} truncation cases over {zips.Count} files in {sw.Elapsed.TotalSeconds:F1} s: {outcomes[0]} read, " +
                           $"{outcomes[1]} clean CheckpointFormatException ({changed} ChangedWhileReading), {outcomes[2]} failures; " +
                           $"{overlapped} changes still running when the read ended");
            if (failures.IsEmpty) { try { Directory.Delete(dir, true); } catch (IOException) { } }
            Assert.True(failures.IsEmpty, $"{failures.Count} fuzz failures (inputs kept in {dir}):\n" + string.Join("\n\n", failures.Take(10)));
            Assert.True(changed > 0, "no read ever saw the file change: the changes never overlapped a read");
        }

        private static bool IsStorage(FuzzZip.Item i) => i.Name.Contains("/data/", StringComparison.Ordinal);

        /// <summary>A consistent archive with mutated storage bytes, or a raw mutation of its central directory.</summary>
        private static (byte[] bytes, string what) MutateStoragesOrDirectory(Random rng, Source src, List<Source> corpus)
        {
            var items = src.Zip!.Select(i => new FuzzZip.Item(i.Name, i.Data, i.Deflate)).ToList();
            var storages = items.Where(IsStorage).ToList();
            var whats = new List<string>();
            if (rng.Next(3) != 0)
            {
                var st = storages[rng.Next(storages.Count)];
                var (data, what) = MutateBytes(rng, st.Data, corpus, pickle: false, rounds: 1 + rng.Next(3));
                st.Data = data;
                if (rng.Next(8) == 0) { st.Deflate = !st.Deflate; what += ", toggled deflate"; }
                whats.Add($"storage {st.Name}: {what}");
            }
            var bytes = FuzzZip.Write(items);
            if (whats.Count == 0 || rng.Next(3) == 0)
            {
                // the central directory and end record: offsets, sizes, counts, names, methods
                int eocd = bytes.Length - 22;
                int cdStart = BitConverter.ToInt32(bytes, eocd + 16);
                int n = 1 + rng.Next(6);
                for (int i = 0; i < n; i++)
                {
                    int p = cdStart + rng.Next(bytes.Length - cdStart);
                    bytes[p] = rng.Next(2) == 0 ? (byte)(bytes[p] ^ (1 << rng.Next(8))) : Interesting[rng.Next(Interesting.Length)];
                }
                whats.Add($"{n} bytes of the zip directory changed");
            }
            return (bytes, string.Join(", ", whats));
        }

        /// <summary>0 = opened, 1 = clean format error, 2 = failure (recorded).</summary>
        private static int RunCase(string path, int k, string desc, ConcurrentQueue<string> failures, Action<CheckpointFormatException>? clean = null)
        {
            try
            {
                var c = Checkpoint.Open(path);
                CkptInfo.From(c);
                var tensors = CkptTensor.List(c, true);
                if (k % 4 == 0)
                {
                    using var reader = new TensorDataReader(c);
                    foreach (var t in tensors.Where(t => t.Tensor.HasData && t.Bytes <= (16 << 20)).Take(3))
                    {
                        try { reader.Sha256(t.Tensor); }
                        catch (InvalidOperationException e) when (e.Message.Contains("cannot be read")) { } // documented refusal
                    }
                }
                if (k % 8 == 0)
                {
                    var r = CheckpointValidator.Test(path, new ValidateOptions { VerifyCrc = true, CheckValues = true });
                    var internalError = r.Findings.FirstOrDefault(f => f.Kind == "InternalError");
                    if (internalError != null) { failures.Enqueue($"{desc}\n  Test-Ckpt: {internalError.Message}"); return 2; }
                }
                return 0;
            }
            catch (CheckpointFormatException e) when (!e.Reason.StartsWith(Checkpoint.InternalErrorPrefix, StringComparison.Ordinal))
            {
                clean?.Invoke(e);
                return 1;
            }
            catch (Exception e)
            {
                failures.Enqueue($"{desc}\n  {e.GetType().Name}: {e.Message}\n{(e.InnerException ?? e).StackTrace}");
                return 2;
            }
        }

        private static readonly byte[] Interesting = { 0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe };

        // pickle fragments that stress the machine: stack/memo/mark handling, huge lengths, object opcodes
        private static readonly byte[][] Snippets =
        {
            new byte[] { (byte)'(' }, new byte[] { (byte)'0' }, new byte[] { (byte)'1' }, new byte[] { (byte)'2' }, new byte[] { (byte)'t' },
            new byte[] { (byte)'R' }, new byte[] { (byte)'b' }, new byte[] { 0x93 }, new byte[] { 0x94 }, new byte[] { (byte)'h', 0 },
            new byte[] { (byte)'h', 1 }, new byte[] { (byte)'q', 0 }, new byte[] { (byte)'s' }, new byte[] { (byte)'u' }, new byte[] { (byte)'a' },
            new byte[] { (byte)'e' }, new byte[] { 0x85 }, new byte[] { 0x86 }, new byte[] { 0x87 }, new byte[] { (byte)'N' }, new byte[] { (byte)'}' },
            new byte[] { (byte)']' }, new byte[] { (byte)')' }, new byte[] { (byte)'Q' }, new byte[] { (byte)'.' }, new byte[] { 0x81 }, new byte[] { 0x92 },
            new byte[] { (byte)'o' }, new byte[] { 0x8f }, new byte[] { 0x90 }, new byte[] { 0x91 }, new byte[] { 0x88 }, new byte[] { 0x89 },
            new byte[] { 0x8b, 0xff, 0xff, 0xff, 0x7f }, // LONG4 huge
            new byte[] { 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f }, // BINBYTES8 huge
            new byte[] { 0x8d, 0, 0, 0, 0, 0, 0, 0, 0x80 }, // BINUNICODE8 negative
            new byte[] { 0x95, 0xff, 0xff, 0, 0, 0, 0, 0, 0 }, // FRAME
            new byte[] { (byte)'J', 0xff, 0xff, 0xff, 0xff }, new byte[] { (byte)'J', 0xff, 0xff, 0xff, 0x7f }, new byte[] { (byte)'K', 0 },
            new byte[] { 0x8a, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0x80 }, // LONG1 big
            new byte[] { (byte)'r', 0xff, 0xff, 0xff, 0xff }, new byte[] { (byte)'j', 0xff, 0xff, 0xff, 0xff },
            System.Text.Encoding.ASCII.GetBytes("ctorch._utils\n_rebuild_tensor_v2\n"), System.Text.Encoding.ASCII.GetBytes("cos\nsystem\n"),
            System.Text.Encoding.ASCII.GetBytes("ccollections\nOrderedDict\n"), System.Text.Encoding.ASCII.GetBytes("ctorch\nFloatStorage\n"),
            new byte[] { 0x8c, 7, (byte)'s', (byte)'t', (byte)'o', (byte)'r', (byte)'a', (byte)'g', (byte)'e' },
            new byte[] { (byte)'X', 1, 0, 0, 0, (byte)'0' }, new byte[] { (byte)'I', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'\n' },
        };

        private static (byte[] bytes, string what) Mutate(Random rng, Source src, List<Source> corpus)
        {
            // zip-aware mutations reach the pickle machine with a consistent archive (correct CRC, sizes)
            if (src.Zip != null && rng.Next(100) < 45)
            {
                var items = src.Zip.Select(i => new FuzzZip.Item(i.Name, i.Data, i.Deflate)).ToList();
                int pick = items.FindIndex(i => i.Name.EndsWith("data.pkl", StringComparison.Ordinal));
                string target = "data.pkl";
                if (pick < 0 || rng.Next(10) == 0) { pick = rng.Next(items.Count); target = items[pick].Name; }
                var (data, what) = MutateBytes(rng, items[pick].Data, corpus, pickle: target == "data.pkl", rounds: 1 + rng.Next(3));
                items[pick].Data = data;
                string extra = "";
                if (rng.Next(10) == 0) { items[pick].Deflate = !items[pick].Deflate; extra = ", toggled deflate"; }
                if (rng.Next(20) == 0) { items[pick].ClaimedSize = rng.Next(2) == 0 ? data.Length + rng.Next(1, 100) : Math.Max(0, data.Length - rng.Next(1, 100)); extra += ", lied about size"; }
                return (FuzzZip.Write(items), $"zip-aware on {target}: {what}{extra}");
            }
            return MutateBytes(rng, src.Bytes, corpus, pickle: false, rounds: 1 + rng.Next(2));
        }

        /// <summary>b with <paramref name="remove"/> bytes at <paramref name="at"/> replaced by <paramref name="insert"/>.</summary>
        private static byte[] Splice(byte[] b, int at, int remove, byte[] insert)
        {
            at = Math.Max(0, Math.Min(at, b.Length));
            remove = Math.Max(0, Math.Min(remove, b.Length - at));
            var r = new byte[b.Length - remove + insert.Length];
            Array.Copy(b, 0, r, 0, at);
            Array.Copy(insert, 0, r, at, insert.Length);
            Array.Copy(b, at + remove, r, at + insert.Length, b.Length - at - remove);
            return r;
        }

        private static (byte[] bytes, string what) MutateBytes(Random rng, byte[] input, List<Source> corpus, bool pickle, int rounds)
        {
            var b = input;
            var whats = new List<string>();
            for (int r = 0; r < rounds; r++)
            {
                int kind = rng.Next(pickle ? 8 : 7);
                int len = b.Length;
                // most of a big file is tensor bytes: aim at the head, the tail (zip directory) or anywhere
                int Pos() => len == 0 ? 0 : rng.Next(3) switch
                {
                    0 => rng.Next(Math.Min(len, 4096)),
                    1 => len - 1 - rng.Next(Math.Min(len, 4096)),
                    _ => rng.Next(len),
                };
                switch (kind)
                {
                    case 0:
                        {
                            if (len == 0) goto case 5;
                            b = (byte[])b.Clone();
                            int n = 1 + rng.Next(8);
                            for (int i = 0; i < n; i++) { int p = Pos(); b[p] ^= (byte)(1 << rng.Next(8)); }
                            whats.Add($"{n} bit flips");
                            break;
                        }
                    case 1:
                        {
                            if (len == 0) goto case 5;
                            b = (byte[])b.Clone();
                            int p = Pos(), n = 1 + rng.Next(4);
                            for (int i = 0; i < n && p + i < len; i++) b[p + i] = Interesting[rng.Next(Interesting.Length)];
                            whats.Add($"interesting bytes at {p}");
                            break;
                        }
                    case 2:
                        {
                            int p = len == 0 ? 0 : rng.Next(len);
                            b = Splice(b, p, len - p, Array.Empty<byte>());
                            whats.Add($"truncated at {p}");
                            break;
                        }
                    case 3:
                        {
                            var other = corpus[rng.Next(corpus.Count)].Bytes;
                            if (other.Length == 0 || len == 0) goto case 5;
                            int from = rng.Next(other.Length), n = Math.Min(other.Length - from, 1 + rng.Next(256)), p = Pos();
                            b = (byte[])b.Clone();
                            Array.Copy(other, from, b, p, Math.Min(n, len - p));
                            whats.Add($"spliced {n} bytes at {p}");
                            break;
                        }
                    case 4:
                        {
                            if (len == 0) goto case 5;
                            int p = Pos(), n = Math.Min(len - p, 1 + rng.Next(64)), at = Pos();
                            var chunk = new byte[n];
                            Array.Copy(b, p, chunk, 0, n);
                            b = Splice(b, at, 0, chunk);
                            whats.Add($"duplicated {n} bytes from {p} at {at}");
                            break;
                        }
                    case 5:
                        {
                            int at = len == 0 ? 0 : Pos(), n = 1 + rng.Next(16);
                            var ins = new byte[n];
                            rng.NextBytes(ins);
                            b = Splice(b, at, 0, ins);
                            whats.Add($"inserted {n} random bytes at {at}");
                            break;
                        }
                    case 6:
                        {
                            if (len == 0) goto case 5;
                            int p = Pos(), n = Math.Min(len - p, 1 + rng.Next(32));
                            b = Splice(b, p, n, Array.Empty<byte>());
                            whats.Add($"deleted {n} bytes at {p}");
                            break;
                        }
                    default:
                        {
                            // pickle only: insert (or overwrite with) a pickle fragment
                            var s = Snippets[rng.Next(Snippets.Length)];
                            int at = len == 0 ? 0 : rng.Next(len);
                            int times = rng.Next(4) == 0 ? 1 + rng.Next(2000) : 1;
                            var ins = new byte[s.Length * times];
                            for (int i = 0; i < times; i++) Buffer.BlockCopy(s, 0, ins, i * s.Length, s.Length);
                            bool overwrite = rng.Next(2) == 0;
                            b = Splice(b, at, overwrite ? Math.Min(ins.Length, len - at) : 0, ins);
                            whats.Add($"{(overwrite ? "overwrote" : "inserted")} {times}x opcode 0x{s[0]:x2} at {at}");
                            break;
                        }
                }
            }
            return (b, string.Join(", ", whats));
        }
    }
}
