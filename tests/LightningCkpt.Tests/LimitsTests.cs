using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using LightningCkpt.Safety;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Every resource bound in <see cref="Limits"/> is hit by a hostile input built here, and each ends in the one
    /// CheckpointFormatException naming the limit — or, for inputs that are legal but deep, in a clean open.
    /// Time and memory are NOT asserted here; measure them with
    ///   LIGHTNINGCKPT_MEASURE=1 dotnet test tests/LightningCkpt.Tests -c Release --filter FullyQualifiedName~LimitsTests.Measure --logger "console;verbosity=detailed"
    /// </summary>
    public class LimitsTests
    {
        private readonly ITestOutputHelper _out;
        public LimitsTests(ITestOutputHelper output) => _out = output;

        private const int TenMB = 10 << 20;

        /// <summary>Hostile 10 MB inputs: name, bytes, expected outcome (null = opens cleanly, else the error kind).</summary>
        public static IEnumerable<(string Name, Func<byte[]> Make, CheckpointErrorKind? Expect)> Hostile()
        {
            yield return ("10MB of EMPTY_DICT", () => Wrap(Repeat(new[] { (byte)'}' }, TenMB)), CheckpointErrorKind.LimitExceeded);
            yield return ("10MB of EMPTY_LIST", () => Wrap(Repeat(new[] { (byte)']' }, TenMB)), CheckpointErrorKind.LimitExceeded);
            yield return ("10MB of EMPTY_TUPLE+TUPLE1", () => Wrap(Repeat(new[] { (byte)')', (byte)0x85 }, TenMB / 2)), CheckpointErrorKind.LimitExceeded);
            yield return ("10MB of MARK", () => Wrap(Repeat(new[] { (byte)'(' }, TenMB)), CheckpointErrorKind.LimitExceeded);
            yield return ("10MB of NONE (stack)", () => Wrap(Repeat(new[] { (byte)'N' }, TenMB)), CheckpointErrorKind.LimitExceeded);
            yield return ("10MB of DUP", () => Wrap(Concat(new[] { (byte)'N' }, Repeat(new[] { (byte)'2' }, TenMB))), CheckpointErrorKind.LimitExceeded);
            yield return ("10MB of MEMOIZE", () => Wrap(Concat(new byte[] { 0x80, 4, (byte)'N' }, Repeat(new byte[] { 0x94 }, TenMB))), CheckpointErrorKind.LimitExceeded);
            yield return ("10MB of LONG_BINPUT", () => Wrap(Concat(new[] { (byte)'N' }, Puts(TenMB / 5))), CheckpointErrorKind.LimitExceeded);
            yield return ("10MB of EMPTY_DICT+POP", () => Wrap(Repeat(new[] { (byte)'}', (byte)'0' }, TenMB / 2)), CheckpointErrorKind.LimitExceeded);
            yield return ("10MB of DUP+APPEND nesting", () => Wrap(Concat(new[] { (byte)']' }, Repeat(new[] { (byte)']', (byte)'a' }, TenMB / 2))), CheckpointErrorKind.LimitExceeded);
            yield return ("deep nested lists (500k)", () => Wrap(Concat(Repeat(new[] { (byte)']' }, 500_000), Repeat(new[] { (byte)'a' }, 499_999), new[] { (byte)'.' })), null);
            yield return ("deep nested tuples (500k)", () => Wrap(Concat(new[] { (byte)')' }, Repeat(new byte[] { 0x85 }, 500_000), new[] { (byte)'.' })), null);
            yield return ("deep tuple as dict key", () => Wrap(Concat(new[] { (byte)'}' }, new[] { (byte)')' }, Repeat(new byte[] { 0x85 }, 300_000), new[] { (byte)'N', (byte)'s', (byte)')' }, Repeat(new byte[] { 0x85 }, 300_000), new[] { (byte)'N', (byte)'s', (byte)'.' })), CheckpointErrorKind.LimitExceeded);
            yield return ("billion laughs (shared lists, 2^64 paths)", () => Wrap(BillionLaughs(64)), null);
            yield return ("1 MB key nested 1000 deep", () => Wrap(LongKeyChain(1 << 20, 1000)), null);
            yield return ("object whose state uses itself as key", () => Wrap(new PickleBuilder().Op('}').Str("x").Global("a", "B").Op(')').Op(0x81).Op('q').Op(0)
                .Op('}').Op('h').Op(0).Op('K').Op(1).Op('s').Op('b').Op('s').Op('.').ToArray()), null);
            yield return ("colliding int keys", () => Wrap(CollidingKeys(400_000)), null);
            yield return ("LONG4 longer than the file", () => Wrap(new byte[] { 0x8b, 0xff, 0xff, 0xff, 0x00, 1, 2, 3 }), CheckpointErrorKind.LimitExceeded);
            yield return ("LONG4 at the limit, 160 times", () => Wrap(Repeat(Concat(new byte[] { 0x8b, 0, 0, 1, 0 }, new byte[1 << 16], new[] { (byte)'0' }), 160)), CheckpointErrorKind.Malformed);
            yield return ("BINBYTES8 longer than the file", () => Wrap(new byte[] { 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x10, 1 }), CheckpointErrorKind.Malformed);
            yield return ("BINUNICODE8 longer than the file", () => Wrap(new byte[] { 0x8d, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1 }), CheckpointErrorKind.Malformed);
            yield return ("BINUNICODE longer than the file", () => Wrap(new byte[] { (byte)'X', 0xff, 0xff, 0xff, 0xff, 1 }), CheckpointErrorKind.Malformed);
            yield return ("FRAME longer than the file", () => Wrap(new byte[] { 0x80, 4, 0x95, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, (byte)'N', (byte)'.' }), CheckpointErrorKind.Malformed);
            yield return ("10MB integer text line", () => Wrap(Concat(new[] { (byte)'I' }, Repeat(new[] { (byte)'9' }, TenMB), new[] { (byte)'\n', (byte)'.' })), CheckpointErrorKind.LimitExceeded);
            yield return ("2400 integers of 4300 digits", () => Wrap(Repeat(Concat(new[] { (byte)'I' }, Repeat(new[] { (byte)'9' }, 4300), new[] { (byte)'\n', (byte)'0' }), 2400)), CheckpointErrorKind.Malformed);
            yield return ("an integer of 4301 digits", () => Wrap(Concat(new[] { (byte)'I' }, Repeat(new[] { (byte)'9' }, 4301), new[] { (byte)'\n', (byte)'.' })), CheckpointErrorKind.LimitExceeded);
            yield return ("10MB of SHORT_BINSTRING+DUP+SETITEM", () => Wrap(Concat(new[] { (byte)'}' }, Repeat(new byte[] { (byte)'K', 1, (byte)'2', (byte)'s' }, TenMB / 4))), CheckpointErrorKind.Malformed);
            yield return ("zip claiming 65535 entries", () => ZipClaiming(65535), CheckpointErrorKind.Malformed);
            yield return ("zip64 claiming 2^40 entries", () => Zip64Claiming(1L << 40), CheckpointErrorKind.LimitExceeded);
            yield return ("entry larger than the file", () => EntryLargerThanFile(), CheckpointErrorKind.Malformed);
            yield return ("deflate bomb: 1 GB claimed", () => Bomb(1 << 30, 1 << 20), CheckpointErrorKind.LimitExceeded);
            yield return ("deflate bomb: claims 1 KB, inflates 10 MB", () => Bomb(1024, TenMB), CheckpointErrorKind.Malformed);
            // within deflate's own ratio, but 1000 times the compressed bytes: refused before inflating (Limits.MaxPickleInflation)
            yield return ("deflate: 10 MB of zeros within ratio", () => Bomb(TenMB, TenMB), CheckpointErrorKind.LimitExceeded);
            yield return ("deflate: 16 KB entry running 16 MB of NONE/POP", () => DeflatedPickle(Concat(new byte[] { 0x80, 2 }, Repeat(new[] { (byte)'N', (byte)'0' }, 8 << 20), new[] { (byte)'N', (byte)'.' })), CheckpointErrorKind.LimitExceeded);
            yield return ("deflate: a real-looking 3:1 pickle loads", () => DeflatedPickle(Concat(new byte[] { 0x80, 2, (byte)']' }, TextList(20_000), new[] { (byte)'.' })), null);
            yield return ("96 MB-style small lists, 8 MB stored", () => Wrap(SmallLists(8 << 20)), null);
            // ~150 MiB of estimated objects from 24 MB: past Limits.MaxPickleCost, whatever the per-byte allowance
            yield return ("small lists, 24 MB stored: past the object ceiling", () => Wrap(SmallLists(24 << 20)), CheckpointErrorKind.LimitExceeded);
        }

        public static IEnumerable<object[]> HostileNames() => Hostile().Select(h => new object[] { h.Name });

        [Theory]
        [MemberData(nameof(HostileNames))]
        public async System.Threading.Tasks.Task HostileInputFailsWithTheOneException(string name)
        {
            // a generous hang detector, not a speed test: every input here takes well under a second
            var run = System.Threading.Tasks.Task.Run(() => Check(name));
            var first = await System.Threading.Tasks.Task.WhenAny(run, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(first == run, $"{name} did not finish within 30 s");
            await run;
        }

        private static void Check(string name)
        {
            var h = Hostile().Single(x => x.Name == name);
            var path = Temp(h.Make(), name);
            try
            {
                Checkpoint? c = null;
                CheckpointFormatException? error = null;
                try { c = Checkpoint.Open(path); }
                catch (CheckpointFormatException e) { error = e; }
                if (h.Expect == null)
                {
                    Assert.Null(error);
                    CkptInfo.From(c!);
                    CkptTensor.List(c!, true);
                    Assert.True(CheckpointValidator.Test(path, new ValidateOptions { VerifyCrc = true }).IsValid);
                }
                else
                {
                    Assert.NotNull(error);
                    Assert.DoesNotContain(Checkpoint.InternalErrorPrefix, error!.Reason);
                    Assert.Equal(h.Expect, error.Kind);
                    var r = CheckpointValidator.Test(path, new ValidateOptions());
                    Assert.False(r.IsValid);
                }
            }
            finally { File.Delete(path); }
        }

        /// <summary>A stored data.pkl above Limits.StreamedPickleBytes runs from the file, not from a copy: same values.</summary>
        [Fact]
        public void LargeStoredPickleRunsFromTheFileWithTheSameValues()
        {
            int size = (int)Limits.StreamedPickleBytes + (1 << 20);
            var path = Temp(Wrap(SmallLists(size)), "streamed pickle");
            try
            {
                var c = Checkpoint.Open(path);
                var root = Assert.IsType<LightningCkpt.Pickle.PyList>(c.Root);
                int batches = (size - 1 + 16001) / 16002; // one EMPTY_LIST, then batches of 1000 memoized 4-item lists
                Assert.Equal(batches * 1000, root.Count);
                var last = Assert.IsType<LightningCkpt.Pickle.PyList>(root[root.Count - 1]);
                Assert.Equal(new object?[] { 7L, 7L, 7L, 7L }, last.ToArray());
                Assert.NotSame(root[0], root[1]);
            }
            finally { File.Delete(path); }
        }

        [Fact]
        public void LimitsAreConsistent()
        {
            Assert.True(Limits.MaxMarkDepth < Limits.MaxStackDepth);
            Assert.True(Limits.MaxContainersFor(0) >= 1_000_000);
            Assert.True(Limits.MaxContainersFor(1L << 30) > Limits.MaxContainersFor(0));
            Assert.True(Limits.MaxMemoEntriesFor(TenMB) >= 1_000_000);
            Assert.True(Limits.MaxDeflateRatio >= 1000); // deflate's own maximum ratio is about 1032:1
        }

        /// <summary>
        /// The memory budget (<see cref="Limits.PickleCostPerFileByte"/>, <see cref="Limits.MaxPickleCost"/>) leaves real
        /// checkpoints a wide margin: every zip in the real-world corpus builds at most a quarter of what its pickle's
        /// size allows, before the floor, and at most a sixteenth of the per-pickle ceiling.
        /// </summary>
        [SkippableFact]
        public void RealworldPicklesStayFarInsideTheirMemoryBudget()
        {
            Skip.IfNot(Directory.Exists(RepoPaths.RealworldFiles), $"{RepoPaths.RealworldFiles} is absent");
            double worst = 0;
            long largest = 0;
            int checkedFiles = 0;
            foreach (var path in Directory.GetFiles(RepoPaths.RealworldFiles).OrderBy(f => f))
            {
                using var fs = File.OpenRead(path);
                LightningCkpt.Container.ZipDirectory zip;
                try { zip = LightningCkpt.Container.ZipDirectory.Read(fs, path); }
                catch (CheckpointFormatException) { continue; } // not a zip
                var pkl = zip.Find("data.pkl");
                if (pkl == null) continue;
                var bytes = zip.ReadAll(fs, pkl, Limits.MaxPickleBytes);
                var machine = new LightningCkpt.Pickle.PickleMachine(new LightningCkpt.Torch.TorchHost(new NoStorages()), path, "data.pkl");
                machine.Load(bytes, pkl.CompressedSize);
                double perByte = (double)machine.EstimatedCost / pkl.CompressedSize;
                _out.WriteLine($"{perByte,6:F2} estimated bytes per pickle byte, {machine.EstimatedCost / 1e6,7:F2} MB  {Path.GetFileName(path)}");
                worst = Math.Max(worst, perByte);
                largest = Math.Max(largest, machine.EstimatedCost);
                checkedFiles++;
            }
            Skip.If(checkedFiles == 0, "no zip checkpoints in the corpus");
            _out.WriteLine($"worst {worst:F2} of {Limits.PickleCostPerFileByte} allowed, over {checkedFiles} files");
            Assert.True(worst * 4 <= Limits.PickleCostPerFileByte, $"a real checkpoint builds {worst:F2} bytes per pickle byte");
            _out.WriteLine($"largest {largest / 1e6:F2} MB of {Limits.MaxPickleCost / 1e6:F0} MB allowed per pickle");
            Assert.True(largest * 16 <= Limits.MaxPickleCost, $"a real checkpoint builds {largest} estimated bytes");
        }

        private sealed class NoStorages : LightningCkpt.Torch.IStorageLocator
        {
            public void Locate(LightningCkpt.Torch.StorageRef storage) { }
            public object? LoadByKey(string key) => null;
        }

        /// <summary>Manual measurement of time and memory per hostile input (skipped unless LIGHTNINGCKPT_MEASURE=1).</summary>
        [SkippableFact]
        public void Measure()
        {
            Skip.IfNot(Environment.GetEnvironmentVariable("LIGHTNINGCKPT_MEASURE") == "1", "set LIGHTNINGCKPT_MEASURE=1 to measure");
            foreach (var h in Hostile())
            {
                var path = Temp(h.Make(), h.Name);
                long fileLength = new FileInfo(path).Length;
                GC.Collect(2, GCCollectionMode.Forced, true, true);
                GC.WaitForPendingFinalizers();
                long baseline = GC.GetTotalMemory(true);
                long peak = baseline;
                using var stop = new ManualResetEventSlim();
                var sampler = new Thread(() =>
                {
                    while (!stop.IsSet) { peak = Math.Max(peak, GC.GetTotalMemory(false)); Thread.Sleep(1); }
                }) { IsBackground = true };
                sampler.Start();
                var sw = Stopwatch.StartNew();
                string outcome;
                try
                {
                    var c = Checkpoint.Open(path);
                    var opened = sw.Elapsed.TotalMilliseconds;
                    CkptInfo.From(c);
                    CkptTensor.List(c, true);
                    outcome = $"opened in {opened:F0} ms, then info + tensor list";
                }
                catch (CheckpointFormatException e) { outcome = e.Kind + ": " + e.Reason; }
                sw.Stop();
                stop.Set();
                sampler.Join();
                peak = Math.Max(peak, GC.GetTotalMemory(false));
                _out.WriteLine($"{h.Name,-40} {fileLength / 1e6,6:F1} MB file  {sw.Elapsed.TotalMilliseconds,7:F0} ms  peak managed +{(peak - baseline) / 1e6,6:F0} MB  {Truncate(outcome, 90)}");
                File.Delete(path);
            }
        }

        private static string Truncate(string s, int n) => s.Length <= n ? s : s.Substring(0, n) + "…";

        // ---- builders ----

        private static byte[] Wrap(byte[] pickle) => FuzzZip.Checkpoint(pickle);

        private static byte[] Repeat(byte[] unit, int times)
        {
            var r = new byte[unit.Length * times];
            for (int i = 0; i < times; i++) Buffer.BlockCopy(unit, 0, r, i * unit.Length, unit.Length);
            return r;
        }

        private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

        private static byte[] Puts(int n)
        {
            var r = new byte[n * 5];
            for (int i = 0; i < n; i++)
            {
                r[i * 5] = (byte)'r';
                BitConverter.GetBytes(i).CopyTo(r, i * 5 + 1);
            }
            return r;
        }

        /// <summary>A dict whose int keys i*2^32+i all hash alike under a naive long hash.</summary>
        private static byte[] CollidingKeys(int n)
        {
            var ms = new MemoryStream();
            ms.WriteByte((byte)'}');
            for (int start = 0; start < n; start += 1000)
            {
                ms.WriteByte((byte)'(');
                for (int i = start; i < Math.Min(n, start + 1000); i++)
                {
                    long k = ((long)i << 32) | (uint)i;
                    ms.WriteByte(0x8a); ms.WriteByte(8); ms.Write(BitConverter.GetBytes(k), 0, 8);
                    ms.WriteByte((byte)'N');
                }
                ms.WriteByte((byte)'u');
            }
            ms.WriteByte((byte)'.');
            return ms.ToArray();
        }

        private static void Op(MemoryStream ms, char op, int memo)
        {
            ms.WriteByte((byte)op);
            ms.Write(BitConverter.GetBytes(memo), 0, 4);
        }

        /// <summary>L0 = []; Li = [L(i-1), L(i-1)]; {'state_dict': Ln, 'hyper_parameters': Ln}.</summary>
        private static byte[] BillionLaughs(int n)
        {
            var ms = new MemoryStream();
            ms.WriteByte((byte)']'); Op(ms, 'r', 0);
            for (int i = 1; i <= n; i++)
            {
                ms.WriteByte((byte)'0'); ms.WriteByte((byte)']'); ms.WriteByte((byte)'(');
                Op(ms, 'j', i - 1); Op(ms, 'j', i - 1);
                ms.WriteByte((byte)'e'); Op(ms, 'r', i);
            }
            ms.WriteByte((byte)'0');
            var head = new PickleBuilder().Op('}').Str("state_dict").ToArray();
            var mid = new PickleBuilder().Op('s').Str("hyper_parameters").ToArray();
            var tail = new MemoryStream();
            Op(tail, 'j', n);
            tail.WriteByte((byte)'s'); tail.WriteByte((byte)'.');
            var get = new MemoryStream();
            Op(get, 'j', n);
            return Concat(ms.ToArray().Take((int)ms.Length - 1).ToArray(), new[] { (byte)'0' }, head, get.ToArray(), mid, tail.ToArray());
        }

        /// <summary>{k: {k: {k: … {}}}} with one memoized key of <paramref name="keyLength"/> characters.</summary>
        private static byte[] LongKeyChain(int keyLength, int depth)
        {
            var ms = new MemoryStream();
            var key = new PickleBuilder().Str(new string('k', keyLength)).ToArray();
            ms.Write(key, 0, key.Length); Op(ms, 'r', 0); ms.WriteByte((byte)'0');
            ms.WriteByte((byte)'}'); Op(ms, 'r', 1);
            for (int i = 2; i <= depth; i++)
            {
                ms.WriteByte((byte)'0'); ms.WriteByte((byte)'}'); Op(ms, 'j', 0); Op(ms, 'j', i - 1); ms.WriteByte((byte)'s'); Op(ms, 'r', i);
            }
            ms.WriteByte((byte)'.');
            return ms.ToArray();
        }

        private static byte[] ZipClaiming(int entries)
        {
            var z = FuzzZip.Checkpoint(new byte[] { (byte)'N', (byte)'.' });
            BitConverter.GetBytes((ushort)entries).CopyTo(z, z.Length - 12);
            BitConverter.GetBytes((ushort)entries).CopyTo(z, z.Length - 14);
            return z;
        }

        private static byte[] Zip64Claiming(long entries)
        {
            var z = FuzzZip.Checkpoint(new byte[] { (byte)'N', (byte)'.' }).ToList();
            int eocd = z.Count - 22;
            uint cdSize = BitConverter.ToUInt32(z.ToArray(), eocd + 12), cdOff = BitConverter.ToUInt32(z.ToArray(), eocd + 16);
            var rec = new List<byte>();
            rec.AddRange(BitConverter.GetBytes(0x06064b50u)); rec.AddRange(BitConverter.GetBytes(44L)); rec.AddRange(new byte[] { 45, 0, 45, 0 });
            rec.AddRange(new byte[8]); rec.AddRange(BitConverter.GetBytes(entries)); rec.AddRange(BitConverter.GetBytes(entries));
            rec.AddRange(BitConverter.GetBytes((long)cdSize)); rec.AddRange(BitConverter.GetBytes((long)cdOff));
            var loc = new List<byte>();
            loc.AddRange(BitConverter.GetBytes(0x07064b50u)); loc.AddRange(new byte[4]); loc.AddRange(BitConverter.GetBytes((long)eocd)); loc.AddRange(BitConverter.GetBytes(1));
            var tail = z.Skip(eocd).ToArray();
            BitConverter.GetBytes((ushort)0xFFFF).CopyTo(tail, 8);
            BitConverter.GetBytes((ushort)0xFFFF).CopyTo(tail, 10);
            return z.Take(eocd).Concat(rec).Concat(loc).Concat(tail).ToArray();
        }

        private static byte[] EntryLargerThanFile()
        {
            var items = new List<FuzzZip.Item> { new FuzzZip.Item("archive/data.pkl", new byte[] { (byte)'N', (byte)'.' }) };
            var z = FuzzZip.Write(items);
            int cd = z.Length - 22 - (46 + "archive/data.pkl".Length);
            BitConverter.GetBytes(0x7FFFFFF0u).CopyTo(z, cd + 20);
            BitConverter.GetBytes(0x7FFFFFF0u).CopyTo(z, cd + 24);
            return z;
        }

        private static byte[] DeflatedPickle(byte[] pickle) =>
            FuzzZip.Write(new List<FuzzZip.Item> { new FuzzZip.Item("archive/data.pkl", pickle, deflate: true) });

        /// <summary>MARK, then <paramref name="n"/> distinct short strings, APPENDS: text that deflates about 3:1, like real pickles.</summary>
        private static byte[] TextList(int n)
        {
            var b = new PickleBuilder().Op('(');
            var rng = new Random(12);
            for (int i = 0; i < n; i++) b.Str("k" + rng.Next().ToString("x") + "." + i);
            return b.Op('e').ToArray();
        }

        /// <summary>[[7, 7, 7, 7], …] with each inner list memoized: the "96 MB pickle of small lists", scaled.</summary>
        private static byte[] SmallLists(int bytes)
        {
            var ms = new MemoryStream();
            ms.WriteByte((byte)']');
            int memo = 0;
            while (ms.Length < bytes)
            {
                ms.WriteByte((byte)'(');
                for (int i = 0; i < 1000; i++)
                {
                    ms.WriteByte((byte)']'); Op(ms, 'r', memo++);
                    ms.WriteByte((byte)'(');
                    for (int k = 0; k < 4; k++) { ms.WriteByte((byte)'K'); ms.WriteByte(7); }
                    ms.WriteByte((byte)'e');
                }
                ms.WriteByte((byte)'e');
            }
            ms.WriteByte((byte)'.');
            return ms.ToArray();
        }

        private static byte[] Bomb(long claimed, int actual)
        {
            var items = new List<FuzzZip.Item> { new FuzzZip.Item("archive/data.pkl", new byte[actual], deflate: true) { ClaimedSize = claimed } };
            return FuzzZip.Write(items);
        }

        private static string Temp(byte[] bytes, string name)
        {
            var dir = Path.Combine(Path.GetTempPath(), "lightningckpt-limits-" + Environment.ProcessId);
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, new string(name.Select(ch => char.IsLetterOrDigit(ch) ? ch : '_').ToArray()) + ".pt");
            File.WriteAllBytes(path, bytes);
            return path;
        }
    }
}
