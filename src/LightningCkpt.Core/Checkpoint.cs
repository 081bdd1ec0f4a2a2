using System;
using System.Collections.Generic;
using System.IO;
using LightningCkpt.Container;
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
            FileLength = source.Identity.Length;
            LastWriteTimeUtc = source.Identity.LastWriteTimeUtc;
            Format = format;
            Root = loaded.Root;
            Storages = loaded.Storages;
            Globals = loaded.Globals.All;
            Protocol = loaded.Protocol;
            PickleBytes = loaded.PickleBytes;
            Zip = loaded.Zip;
            IsBigEndian = loaded.IsBigEndian;
            foreach (var st in Storages)
            {
                st.File = source;
                if (st.ViewRoot != null) st.ViewRoot.File = source;
            }
        }

        /// <summary>The file and the identity it had when opened; every storage of this checkpoint reads from it.</summary>
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

        /// <summary>Opens a checkpoint; any problem with the bytes is a <see cref="CheckpointFormatException"/>.</summary>
        public static Checkpoint Open(string path)
        {
            if (Directory.Exists(path))
                throw new CheckpointFormatException(path, "directory", "directory checkpoints (DeepSpeed, FSDP/DCP) are not supported yet") { Kind = CheckpointErrorKind.Unsupported };
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, FileOptions.RandomAccess);
            var source = new SourceFile(path, FileIdentity.Of(fs.SafeFileHandle, path));
            try
            {
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
            catch (CheckpointFormatException e) when (e.Defect != CheckpointDefect.ChangedWhileReading && !SameState(source, fs))
            {
                // a parse error in a file that changed under us says nothing about the file: report the change
                throw source.Changed("file");
            }
            catch (CheckpointFormatException) { throw; }
            catch (IOException) { throw; }
            catch (UnauthorizedAccessException) { throw; }
            catch (Exception e) when (e is OutOfMemoryException || e is InsufficientExecutionStackException)
            {
                throw new CheckpointFormatException(path, "file", "reading it needs more resources than allowed: " + e.Message, -1, e) { Kind = CheckpointErrorKind.LimitExceeded };
            }
            catch (Exception e)
            {
                // A reader bug must not crash a batch; the fuzzer looks for this prefix to catch such bugs.
                throw new CheckpointFormatException(path, "file", InternalErrorPrefix + e.GetType().Name + ": " + e.Message, -1, e);
            }
        }

        private static bool SameState(SourceFile source, FileStream fs) =>
            source.Identity.IsUnchangedIn(FileIdentity.Of(fs.SafeFileHandle, source.Path));

        /// <summary>Reasons starting with this mark a reader bug rather than bad input.</summary>
        public const string InternalErrorPrefix = "internal error while reading: ";
    }
}
