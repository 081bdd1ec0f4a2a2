using System;
using System.Collections.Generic;
using System.IO;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>
    /// Where the files of a sharded checkpoint that names its parts (DCP's .metadata) live: a local folder or the URL
    /// prefix of a remote .metadata. The readers ask it for a file's bytes or a data stream and never learn which:
    /// every file comes with its <see cref="SourceFile"/> (local identity, or the remote object's ETag and length).
    /// </summary>
    internal abstract class ShardFolder
    {
        /// <summary>What the checkpoint is called: the folder, or the .metadata URL as it may be shown.</summary>
        public abstract string Location { get; }

        /// <summary>The shown path of file <paramref name="name"/> (a plain name from <paramref name="source"/>, never one climbing out).</summary>
        public string PathOf(string name, string source)
        {
            ShardedCheckpointReader.RequirePlainName(name, source);
            return Combine(name);
        }

        protected abstract string Combine(string name);

        /// <summary>True when the folder holds <paramref name="name"/>.</summary>
        public abstract bool Has(string name);

        /// <summary>A small file read whole (at most <paramref name="maxBytes"/>), with the identity it had while read.</summary>
        public abstract byte[] ReadAll(string name, long maxBytes, string what, out SourceFile source);

        /// <summary>A data file opened for positional reads and its identity, or null when the folder does not hold it.</summary>
        public abstract Stream? OpenData(string name, out SourceFile source);

        /// <summary>The files whose names end with <paramref name="suffix"/> with their lengths, or null when the folder cannot be listed (a URL).</summary>
        public abstract IReadOnlyList<KeyValuePair<string, long>>? List(string suffix);

        /// <summary>
        /// A file's length and the bytes its file system stores for it (a sparse file's holes count nothing), what a
        /// metadata allowance may be based on; null when not a regular file or not known without a request (a URL).
        /// </summary>
        public virtual (long Length, long Stored)? SizeOnDisk(string name) => null;

        /// <summary>
        /// Told which byte ranges of which files the reader is about to parse (DCP items, each a small archive whose
        /// metadata sits at its two ends): a remote folder fetches their ends ahead, several at once; a local one has
        /// nothing to gain.
        /// </summary>
        public virtual void Prefetch(IEnumerable<KeyValuePair<string, (long Offset, long Length)>> items) { }

        /// <summary>Another checkpoint file of the folder (Lightning's meta.pt), its storages bound to it.</summary>
        public abstract Checkpoint OpenPart(string name, string what);

        public override string ToString() => Location;
    }
}
