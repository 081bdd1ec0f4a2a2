using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>
    /// Tells which sharded layout a folder (or index file) holds and opens it as one logical checkpoint. Detection
    /// looks at file names only: DCP's .metadata (with Lightning's meta.pt beside it for a sharded .ckpt folder),
    /// DeepSpeed's latest / *_model_states.pt (latest_universal / zero/ for universal checkpoints), Hugging Face's *.index.json,
    /// torch's distributed Hugging Face shards (shard-R-model-K-of-N.safetensors, no index).
    /// </summary>
    internal static class ShardedCheckpointReader
    {
        public const string DcpMetadataName = Remote.RemoteUrl.DcpMetadataName;
        public const string LightningMetaName = "meta.pt";

        /// <summary>Per-rank DCP metadata (<c>__R.metadata</c>), which the newest torch writes when saving without collectives.</summary>
        private static readonly System.Text.RegularExpressions.Regex RankMetadataName =
            new System.Text.RegularExpressions.Regex(@"^__\d+\.metadata$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

        /// <summary>An index or metadata file that stands for its whole folder.</summary>
        public static bool IsIndexOrMarker(string path)
        {
            var name = Path.GetFileName(path);
            return name.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase) || name == DcpMetadataName || RankMetadataName.IsMatch(name);
        }

        public static Checkpoint OpenIndexOrMarker(string path)
        {
            var full = Path.GetFullPath(path);
            var dir = Path.GetDirectoryName(full) ?? ".";
            if (!full.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase)) return OpenFolder(dir); // .metadata, __R.metadata
            // named by its folder, like every folder checkpoint, when the folder opens as this same index; by the
            // index file when the folder would open as something else (another index, DCP, DeepSpeed)
            bool folderIsThis = string.Equals(FolderIndex(dir), full, StringComparison.Ordinal);
            return HfShardedIndex.Open(full, folderIsThis ? TrimSeparator(dir) : full);
        }

        /// <summary>The index file a folder opens as, or null when the folder is DCP, Lightning sharded, DeepSpeed or holds no index.</summary>
        private static string? FolderIndex(string dir)
        {
            if (File.Exists(Path.Combine(dir, DcpMetadataName)) || File.Exists(Path.Combine(dir, LightningMetaName)) || DeepSpeedCheckpoint.Recognises(dir) || DeepSpeedUniversalCheckpoint.Recognises(dir)) return null;
            var indexes = Directory.GetFiles(dir, "*.index.json");
            if (indexes.Length == 0) return null;
            return indexes.FirstOrDefault(f => Path.GetFileName(f).IndexOf("safetensors", StringComparison.OrdinalIgnoreCase) >= 0) ?? indexes.OrderBy(f => f, StringComparer.Ordinal).First();
        }

        private static string TrimSeparator(string dir) =>
            dir.Length > Path.GetPathRoot(dir)!.Length ? dir.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) : dir;

        /// <summary>True when a folder's file names show one of the sharded layouts (no file is read).</summary>
        public static bool LooksLikeCheckpointFolder(string dir) =>
            Directory.Exists(dir) && (File.Exists(Path.Combine(dir, DcpMetadataName)) || File.Exists(Path.Combine(dir, LightningMetaName))
                || DeepSpeedCheckpoint.Recognises(dir) || DeepSpeedUniversalCheckpoint.Recognises(dir) || Directory.GetFiles(dir, "*.index.json").Length > 0 || RankMetadataFiles(dir).Count > 0
                || HfDistributedShards.ShardFiles(dir).Count > 0);

        private static List<string> RankMetadataFiles(string dir) =>
            Directory.GetFiles(dir, "__*.metadata").Select(Path.GetFileName).Where(n => RankMetadataName.IsMatch(n!)).OrderBy(n => n, StringComparer.Ordinal).ToList()!;

        public static Checkpoint OpenFolder(string dir)
        {
            dir = TrimSeparator(Path.GetFullPath(dir));
            if (File.Exists(Path.Combine(dir, DcpMetadataName))) return OpenDcp(new LocalShardFolder(dir));
            if (File.Exists(Path.Combine(dir, LightningMetaName)))
                throw new CheckpointFormatException(dir, "folder", $"it has Lightning's {LightningMetaName} but no DCP {DcpMetadataName}, so the sharded weights are missing") { Defect = CheckpointDefect.MissingStorage };
            if (DeepSpeedUniversalCheckpoint.Recognises(dir)) return DeepSpeedUniversalCheckpoint.Open(dir); // before ZeRO: a step folder has *_model_states.pt too
            if (DeepSpeedCheckpoint.Recognises(dir)) return DeepSpeedCheckpoint.Open(dir);
            if (FolderIndex(dir) is { } index) return HfShardedIndex.Open(index, dir); // safetensors index first
            if (HfDistributedShards.ShardFiles(dir) is { Count: > 0 } rankShards) return HfDistributedShards.Open(dir, rankShards);
            var rankMetadata = RankMetadataFiles(dir);
            if (rankMetadata.Count > 0)
                throw new CheckpointFormatException(Path.Combine(dir, rankMetadata[0]), "folder",
                    $"a DCP checkpoint with rank-local metadata ({string.Join(", ", rankMetadata.Take(4))}{(rankMetadata.Count > 4 ? ", …" : "")}: torch saved it without collectives) and no global {DcpMetadataName}; this version reads only the global {DcpMetadataName}")
                { Kind = CheckpointErrorKind.Unsupported };
            if (Directory.GetFiles(dir, "*.distcp").Length > 0)
                throw new CheckpointFormatException(dir, "folder", $"it holds DCP data files (*.distcp) but no {DcpMetadataName}, which names what they hold (not copied?)") { Defect = CheckpointDefect.MissingStorage };
            throw new CheckpointFormatException(dir, "folder",
                "a folder that is not a checkpoint: it holds no DCP .metadata, no Lightning meta.pt, no DeepSpeed 'latest', 'latest_universal' or *_model_states.pt, no Hugging Face *.index.json and no distributed shard-*-model-*-of-*.safetensors")
            { Kind = CheckpointErrorKind.NotACheckpoint };
        }

        /// <summary>
        /// The DCP checkpoint whose .metadata <paramref name="folder"/> holds: Lightning's sharded .ckpt when meta.pt is
        /// beside it, otherwise plain DCP.
        /// </summary>
        public static Checkpoint OpenDcp(ShardFolder folder) =>
            folder.Has(LightningMetaName) ? LightningShardedCheckpoint.Open(folder) : DcpCheckpoint.Open(folder).ToCheckpoint();

        /// <summary>Opens one file of a sharded checkpoint; its storages are bound to that file (and its identity).</summary>
        public static Checkpoint OpenPart(string file, string what)
        {
            if (!File.Exists(file))
                throw new FileNotFoundException($"{what} '{file}' is missing", file);
            return Checkpoint.OpenFile(file);
        }

        /// <summary>The identity of a file that names the others (.metadata, an index), recorded as it is read.</summary>
        public static SourceFile Identify(string file) => new SourceFile(file, FileIdentity.Of(file));

        /// <summary>A file name from an index or metadata, resolved inside <paramref name="dir"/> (never outside it).</summary>
        public static string Inside(string dir, string relative, string source)
        {
            RequirePlainName(relative, source);
            return Path.Combine(dir, relative);
        }

        /// <summary>Refuses a file name from an index or metadata that is absolute or climbs out of its folder (or URL prefix).</summary>
        public static void RequirePlainName(string relative, string source)
        {
            if (string.IsNullOrEmpty(relative) || Path.IsPathRooted(relative) || relative.Split('/', '\\').Any(p => p == ".."))
                throw new CheckpointFormatException(source, "file names", $"'{relative}' is not a plain file name inside the checkpoint folder");
        }

        /// <summary>A saved piece as the chunk at <paramref name="offsets"/> of a logical tensor, checked against what the metadata says it is.</summary>
        public static TensorChunk Chunk(string file, string part, string key, DType dtype, long[] offsets, long[] sizes, TensorRef piece, string origin)
        {
            if (!ReferenceEquals(piece.DType, dtype) || !piece.Shape.SequenceEqual(sizes))
                throw new CheckpointFormatException(file, part,
                    $"the chunk of '{key}' at [{string.Join(", ", offsets)}] is {piece.DType.Name} [{string.Join(", ", piece.Shape)}], the metadata says {dtype.Name} [{string.Join(", ", sizes)}]") { Defect = CheckpointDefect.StorageSizeMismatch };
            if (!piece.IsContiguous)
                throw new CheckpointFormatException(file, part, $"the chunk of '{key}' is not contiguous") { Kind = CheckpointErrorKind.Unsupported };
            return new TensorChunk(offsets, sizes, piece, origin);
        }

        /// <summary>
        /// The logical tensor <paramref name="key"/> of <paramref name="size"/> made of <paramref name="chunks"/>, once they
        /// tile it with no gap or overlap; a single chunk holding the whole tensor is just that tensor.
        /// </summary>
        public static TensorRef Place(string source, string key, DType dtype, long[] size, List<TensorChunk> chunks)
        {
            var layout = new ChunkLayout(size, chunks);
            var problems = layout.Problems();
            if (problems.Count > 0)
                throw new CheckpointFormatException(source, $"tensor '{key}'", string.Join("; ", problems.Take(3))) { Defect = problems[0].Contains("no shard") ? CheckpointDefect.MissingStorage : CheckpointDefect.ViewOutOfBounds };
            if (chunks.Count == 1 && chunks[0].Numel == layout.Numel && chunks[0].Piece.Shape.SequenceEqual(size)) return chunks[0].Piece;
            return TensorRef.Assembled(dtype, size, layout);
        }


        /// <summary>A small text file ('latest', an index) through the checked open: no FIFO, device or oversized file.</summary>
        public static string ReadText(string file, long maxBytes) => CheckedFile.ReadAllText(file, maxBytes, "this file");
    }
}
