using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LightningCkpt.Container;
using LightningCkpt.Container.Sharded;
using LightningCkpt.Lightning;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt
{
    /// <summary>
    /// An opened checkpoint: container, object graph, storages and globals. Opening reads the zip directory
    /// (or the legacy pickles) and the pickle only — never a tensor byte — and closes the file again.
    /// </summary>
    public sealed class Checkpoint
    {
        private List<TensorEntry>? _tensors;
        private CheckpointView? _view;

        private Checkpoint(SourceFile source, CheckpointFormat format, LoadedPickle loaded)
        {
            Source = source;
            FilePath = source.Path;
            FileLength = source.Length;
            LastWriteTimeUtc = source.LastWriteTimeUtc;
            Format = format;
            Root = loaded.Root;
            Storages = loaded.Storages;
            Globals = loaded.Globals.All;
            GlobalUse = loaded.Globals;
            Protocol = loaded.Protocol;
            PickleBytes = loaded.PickleBytes;
            Zip = loaded.Zip;
            if (Zip != null) Zip.Source = source; // lazily located headers come from the version opened
            IsBigEndian = loaded.IsBigEndian;
            foreach (var st in Storages)
            {
                st.File = source;
                if (st.ViewRoot != null) st.ViewRoot.File = source;
            }
            Files = new[] { source.Path };
        }

        /// <summary>
        /// A checkpoint composed from several files (sharded formats): the graph is already assembled and every storage
        /// is bound to its own file. <paramref name="main"/> is the file that names the others (.metadata, index, model states).
        /// </summary>
        internal Checkpoint(string path, SourceFile main, CheckpointFormat format, object? root, IReadOnlyList<StorageRef> storages, GlobalsRecorder globals,
            int protocol, long pickleBytes, ShardingInfo sharding)
        {
            Source = main;
            FilePath = path;
            Format = format;
            Root = root;
            Storages = storages;
            Globals = globals.All;
            GlobalUse = globals;
            Protocol = protocol;
            PickleBytes = pickleBytes;
            Sharding = sharding;
            Files = sharding.Files;
            long length = 0;
            var last = DateTime.MinValue;
            foreach (var f in sharding.Files)
            {
                if (Remote.RemoteUrl.IsRemote(f)) continue; // counted from the sources below
                var fi = new FileInfo(f);
                if (!fi.Exists) continue;
                length += fi.Length;
                if (fi.LastWriteTimeUtc > last) last = fi.LastWriteTimeUtc;
            }
            // remote parts (a Hugging Face index by URL): the objects as opened
            var remote = new HashSet<SourceFile>();
            if (main.Remote != null) remote.Add(main);
            foreach (var s in storages) if (s.File?.Remote != null) remote.Add(s.File);
            foreach (var r in remote)
            {
                length += r.Length;
                if (r.LastWriteTimeUtc > last) last = r.LastWriteTimeUtc;
            }
            FileLength = length;
            LastWriteTimeUtc = last;
        }

        /// <summary>For sharded checkpoints (folders, index files): files, ranks, ZeRO stage; null for single files.</summary>
        public ShardingInfo? Sharding { get; }

        /// <summary>Every file the checkpoint was read from: the file itself, or all shard and metadata files.</summary>
        public IReadOnlyList<string> Files { get; }

        /// <summary>The string map a safetensors header carries in __metadata__ (empty for other formats).</summary>
        public IReadOnlyList<KeyValuePair<string, string>> TextMetadata { get; private set; } = Array.Empty<KeyValuePair<string, string>>();

        /// <summary>Every getattr(target, name) call the pickle(s) make, as data: safety grading reads them.</summary>
        public IReadOnlyList<AttributeLookup> AttributeLookups => GlobalUse.AttributeLookups;

        /// <summary>
        /// The file and the identity it had when opened; every storage of a single-file checkpoint reads from it. For a
        /// sharded checkpoint: the file naming the others (its storages are bound to their own files).
        /// </summary>
        public SourceFile Source { get; }

        public string FilePath { get; }
        public long FileLength { get; }
        public DateTime LastWriteTimeUtc { get; }
        public CheckpointFormat Format { get; }

        /// <summary>The unpickled top object: a <see cref="PyDict"/>, list, tuple, <see cref="TensorRef"/> or inert object.</summary>
        public object? Root { get; }

        /// <summary>Every storage the pickle referenced, in first-seen order.</summary>
        public IReadOnlyList<StorageRef> Storages { get; }

        /// <summary>Every global the pickle(s) referenced, in first-seen order.</summary>
        public IReadOnlyList<PyGlobal> Globals { get; }

        /// <summary>How the pickle(s) use each global: what Python would look it up as, and whether it is called.</summary>
        public GlobalsRecorder GlobalUse { get; }

        /// <summary>
        /// How dangerous <paramref name="g"/> is as this checkpoint's pickles use it: by every path Python's unpickler
        /// could find it at, whether the pickle calls it, functools.partial by what it wraps, getattr by its arguments.
        /// </summary>
        public Safety.GlobalGrade GradeOf(PyGlobal g) => Safety.GlobalGrades.Grade(g, GlobalUse, out _);

        /// <summary><see cref="GradeOf(PyGlobal)"/> with the reason, for a finding.</summary>
        public Safety.GlobalGrade GradeOf(PyGlobal g, out string reason) => Safety.GlobalGrades.Grade(g, GlobalUse, out reason);

        /// <summary>The pickle protocol of the main pickle.</summary>
        public int Protocol { get; }

        /// <summary>Size of the main pickle in bytes.</summary>
        public long PickleBytes { get; }

        /// <summary>The zip directory (zip format only).</summary>
        public ZipDirectory? Zip { get; }

        public bool IsBigEndian { get; }

        /// <summary>Every tensor anywhere in the file, with its dotted path, in pickle order.</summary>
        public IReadOnlyList<TensorEntry> AllTensors => _tensors ??= ObjectWalker.FindTensors(Root);

        /// <summary>The Lightning (or plain-checkpoint) reading of the object graph.</summary>
        public CheckpointView View => _view ??= CheckpointView.From(Root);

        /// <summary>
        /// Opens a checkpoint file, a sharded checkpoint folder (DCP, Lightning sharded, DeepSpeed, Hugging Face) or a
        /// sharded index file; any problem with the bytes is a <see cref="CheckpointFormatException"/>.
        /// </summary>
        public static Checkpoint Open(string path) => Open(path, null);

        /// <summary>
        /// <see cref="Open(string)"/>, where <paramref name="path"/> may also be an http(s) URL of a single checkpoint
        /// file, read by range requests through <paramref name="remote"/> (a session of its own when null).
        /// </summary>
        public static Checkpoint Open(string path, Remote.RemoteSession? remote) => Open(path, remote, (c, _) => c);

        /// <summary>
        /// True when <paramref name="folder"/> is laid out as a sharded checkpoint (DCP, Lightning sharded, DeepSpeed,
        /// Hugging Face index), judged by file names alone. Wildcards in the cmdlets match such folders like files.
        /// </summary>
        public static bool IsCheckpointFolder(string folder) => ShardedCheckpointReader.LooksLikeCheckpointFolder(folder);

        private static Checkpoint OpenSharded(string path)
        {
            try
            {
                return Directory.Exists(path) ? ShardedCheckpointReader.OpenFolder(path) : ShardedCheckpointReader.OpenIndexOrMarker(path);
            }
            catch (Exception e) when (Unexpected(e))
            {
                throw Wrap(path, e);
            }
        }

        private static bool Unexpected(Exception e) => !(e is CheckpointFormatException || e is IOException || e is UnauthorizedAccessException);

        private static CheckpointFormatException Wrap(string path, Exception e) =>
            e is OutOfMemoryException || e is InsufficientExecutionStackException
                ? new CheckpointFormatException(path, "file", "reading it needs more resources than allowed: " + e.Message, -1, e) { Kind = CheckpointErrorKind.LimitExceeded }
                // A reader bug must not crash a batch; the fuzzer looks for this prefix to catch such bugs.
                : new CheckpointFormatException(path, "file", InternalErrorPrefix + e.GetType().Name + ": " + e.Message, -1, e);

        /// <summary>One torch.save or safetensors file.</summary>
        internal static Checkpoint OpenFile(string path) => OpenFile(path, (c, _) => c);

        /// <summary>
        /// One file opened, handed to <paramref name="use"/> with its still-open stream, then closed: a summary reads its
        /// few score tensors through the handle the metadata came from, not through a second open (on a folder of small
        /// checkpoints the opens, stats and locks of the file were a good part of the time).
        /// </summary>
        internal static T OpenFile<T>(string path, Func<Checkpoint, Stream, T> use)
        {
            using var fs = CheckedFile.OpenRead(path, out var identity); // a FIFO would block the open forever
            return use(Load(new SourceFile(path, identity), fs), fs);
        }

        /// <summary>
        /// <see cref="Open(string, Remote.RemoteSession?)"/> handed to <paramref name="use"/>, with the open stream of a
        /// single local file (null for a URL or a sharded checkpoint, whose parts are opened as they are read).
        /// </summary>
        internal static T Open<T>(string path, Remote.RemoteSession? remote, Func<Checkpoint, Stream?, T> use)
        {
            if (Remote.RemoteUrl.IsRemote(path)) return use(OpenRemote(path, remote), null);
            if (Directory.Exists(path) || ShardedCheckpointReader.IsIndexOrMarker(path)) return use(OpenSharded(path), null);
            return OpenFile(path, use);
        }

        /// <summary>
        /// A checkpoint behind an http(s) URL: one file through the same readers over a <see cref="Remote.RemoteStream"/>,
        /// or a sharded one by the URL of its Hugging Face index or DCP .metadata, whose parts are the URLs beside it.
        /// </summary>
        private static Checkpoint OpenRemote(string url, Remote.RemoteSession? remote)
        {
            var display = Remote.RemoteUrl.RedactText(url);
            remote ??= new Remote.RemoteSession();
            var name = Remote.RemoteUrl.NameOf(new Uri(url));
            if (name.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase)) return OpenRemoteIndex(url, remote);
            if (name == ShardedCheckpointReader.DcpMetadataName)
            {
                try
                {
                    return ShardedCheckpointReader.OpenDcp(new RemoteShardFolder(remote, url));
                }
                catch (Exception e) when (Unexpected(e))
                {
                    throw Wrap(display, e);
                }
            }
            if (ShardedCheckpointReader.IsIndexOrMarker(name))
                throw new CheckpointFormatException(display, "file", $"rank-local DCP metadata ({name}) is not read; give the URL of the folder's global {ShardedCheckpointReader.DcpMetadataName}") { Kind = CheckpointErrorKind.Unsupported };
            var source = new SourceFile(remote.Open(url));
            using var stream = source.OpenForData();
            return Load(source, stream);
        }

        /// <summary>
        /// A Hugging Face index by URL: its shards are the URLs beside it (with the index's query, so a SAS or signed
        /// prefix that covers the folder reaches them too), each read by ranges like any remote file.
        /// </summary>
        private static Checkpoint OpenRemoteIndex(string url, Remote.RemoteSession remote)
        {
            var folder = new RemoteShardFolder(remote, url);
            var indexName = Remote.RemoteUrl.NameOf(new Uri(url));
            var text = folder.ReadAll(indexName, Limits.MaxJsonHeaderBytes, "this file", out var indexSource);
            return HfShardedIndex.Assemble(folder.Location, folder.Location, indexSource, System.Text.Encoding.UTF8.GetString(text), shard =>
            {
                folder.PathOf(shard, folder.Location);
                return folder.OpenPart(shard, "shard");
            });
        }

        /// <summary>Reads the container and pickle of one file through <paramref name="fs"/> (local or remote).</summary>
        private static Checkpoint Load(SourceFile source, Stream fs)
        {
            string path = source.Path;
            try
            {
                if (SafetensorsReader.LooksLike(fs))
                {
                    var st = SafetensorsReader.Load(fs, path, out var md);
                    source.CheckUnchanged(fs, "file");
                    return new Checkpoint(source, CheckpointFormat.Safetensors, st) { TextMetadata = md };
                }
                var format = FormatSniffer.Detect(fs, path);
                var loaded = format switch
                {
                    CheckpointFormat.Zip => ZipCheckpointReader.Load(fs, path),
                    CheckpointFormat.Legacy => LegacyCheckpointReader.Load(fs, path),
                    _ => TarCheckpointReader.Load(fs, path),
                };
                source.CheckUnchanged(fs, "file");
                return new Checkpoint(source, format, loaded);
            }
            catch (CheckpointFormatException e) when (e.Defect != CheckpointDefect.ChangedWhileReading && !source.IsUnchanged(fs))
            {
                // a parse error in a file that changed under us says nothing about the file: report the change
                throw source.Changed("file");
            }
            catch (Exception e) when (Unexpected(e))
            {
                throw Wrap(path, e);
            }
        }

        /// <summary>Reasons starting with this mark a reader bug rather than bad input.</summary>
        public const string InternalErrorPrefix = "internal error while reading: ";
    }
}
