using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Text;
using LightningCkpt.Container;

namespace LightningCkpt.Tests
{
    /// <summary>A tiny zip writer/rewriter for hostile inputs: stored or deflated entries with any claimed sizes.</summary>
    internal static class FuzzZip
    {
        public sealed class Item
        {
            public Item(string name, byte[] data, bool deflate = false) { Name = name; Data = data; Deflate = deflate; }
            public string Name;
            public byte[] Data;
            public bool Deflate;
            /// <summary>General purpose bit flags written to both headers (bit 0: encrypted).</summary>
            public ushort Flags;
            /// <summary>Overrides the uncompressed size written to the directory (to lie).</summary>
            public long? ClaimedSize;
        }

        /// <summary>A torch-style zip checkpoint holding <paramref name="pickle"/> as archive/data.pkl plus storages.</summary>
        public static byte[] Checkpoint(byte[] pickle, params (string key, byte[] data)[] storages)
        {
            var items = new List<Item> { new Item("archive/data.pkl", pickle) };
            foreach (var (k, d) in storages) items.Add(new Item("archive/data/" + k, d));
            items.Add(new Item("archive/version", Encoding.ASCII.GetBytes("3\n")));
            return Write(items);
        }

        public static byte[] Write(IList<Item> items)
        {
            var ms = new MemoryStream();
            var cd = new MemoryStream();
            foreach (var it in items)
            {
                byte[] payload = it.Data;
                if (it.Deflate)
                {
                    var c = new MemoryStream();
                    using (var d = new DeflateStream(c, CompressionLevel.Optimal, leaveOpen: true)) d.Write(it.Data, 0, it.Data.Length);
                    payload = c.ToArray();
                }
                uint crc = Writing.Crc32.Update(0, it.Data, 0, it.Data.Length);
                long usize = it.ClaimedSize ?? it.Data.Length;
                var name = Encoding.UTF8.GetBytes(it.Name);
                long lho = ms.Position;
                ushort method = (ushort)(it.Deflate ? 8 : 0);
                W32(ms, 0x04034b50); W16(ms, 20); W16(ms, it.Flags); W16(ms, method); W16(ms, 0); W16(ms, 0x21);
                W32(ms, crc); W32(ms, (uint)payload.Length); W32(ms, (uint)Math.Min(usize, uint.MaxValue)); W16(ms, (ushort)name.Length); W16(ms, 0);
                ms.Write(name, 0, name.Length);
                ms.Write(payload, 0, payload.Length);
                W32(cd, 0x02014b50); W16(cd, 20); W16(cd, 20); W16(cd, it.Flags); W16(cd, method); W16(cd, 0); W16(cd, 0x21);
                W32(cd, crc); W32(cd, (uint)payload.Length); W32(cd, (uint)Math.Min(usize, uint.MaxValue)); W16(cd, (ushort)name.Length);
                W16(cd, 0); W16(cd, 0); W16(cd, 0); W16(cd, 0); W32(cd, 0); W32(cd, (uint)lho);
                cd.Write(name, 0, name.Length);
            }
            long cdOff = ms.Position;
            cd.Position = 0;
            cd.CopyTo(ms);
            W32(ms, 0x06054b50); W16(ms, 0); W16(ms, 0); W16(ms, (ushort)items.Count); W16(ms, (ushort)items.Count);
            W32(ms, (uint)cd.Length); W32(ms, (uint)cdOff); W16(ms, 0);
            return ms.ToArray();
        }

        /// <summary>The entries of a readable zip (names and inflated data), or null when it is not one.</summary>
        public static List<Item>? Read(byte[] file)
        {
            try
            {
                using var s = new MemoryStream(file, writable: false);
                var zip = ZipDirectory.Read(s, "<memory>");
                var items = new List<Item>();
                foreach (var e in zip.Entries)
                    items.Add(new Item(e.Name, zip.ReadAll(s, e, 64L << 20), e.IsDeflated));
                return items;
            }
            catch (CheckpointFormatException) { return null; }
        }

        private static void W16(Stream s, ushort v) { s.WriteByte((byte)v); s.WriteByte((byte)(v >> 8)); }
        private static void W32(Stream s, uint v) { W16(s, (ushort)v); W16(s, (ushort)(v >> 16)); }
    }
}
