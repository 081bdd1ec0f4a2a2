using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>A sharded checkpoint's folder on disk: files by the checked open, identities from the file system.</summary>
    internal sealed class LocalShardFolder : ShardFolder
    {
        private readonly string _dir;

        public LocalShardFolder(string dir) => _dir = Path.GetFullPath(dir);

        public override string Location => _dir;

        protected override string Combine(string name) => Path.Combine(_dir, name);

        public override bool Has(string name) => File.Exists(Combine(name));

        public override byte[] ReadAll(string name, long maxBytes, string what, out SourceFile source)
        {
            var path = Combine(name);
            source = ShardedCheckpointReader.Identify(path);
            var bytes = CheckedFile.ReadAllBytes(path, maxBytes, what);
            if (!source.Identity.IsUnchangedIn(FileIdentity.Of(path))) throw source.Changed("file");
            return bytes;
        }

        public override Stream? OpenData(string name, out SourceFile source)
        {
            var path = Combine(name);
            source = null!;
            if (!File.Exists(path)) return null;
            var fs = CheckedFile.OpenRead(path); // type and size checked: a FIFO or device would hang or read without end
            source = new SourceFile(path, FileIdentity.Of(fs.SafeFileHandle, path));
            return fs;
        }

        public override IReadOnlyList<KeyValuePair<string, long>> List(string suffix) =>
            new DirectoryInfo(_dir).GetFiles("*" + suffix).Select(f => new KeyValuePair<string, long>(f.Name, f.Length)).ToList();

        public override (long Length, long Stored)? SizeOnDisk(string name)
        {
            var id = FileIdentity.Of(Combine(name));
            return id.Kind == FileKind.Regular ? (id.Length, Math.Min(id.Length, id.StoredBytes)) : ((long, long)?)null;
        }

        public override Checkpoint OpenPart(string name, string what) => ShardedCheckpointReader.OpenPart(Combine(name), what);
    }
}
