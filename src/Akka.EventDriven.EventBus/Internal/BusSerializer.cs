using Akka.Actor;
using Akka.Serialization;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>Compact binary serializer of the bus's wire messages (the payload inside stays the registry's JSON):
/// routing a message costs a few length-prefixed strings, not a JSON document.</summary>
public sealed class BusSerializer : SerializerWithStringManifest
{
    private const string EnvelopeManifest = "e";
    private const string AppendedManifest = "a";
    private const string RegisterManifest = "r";
    private const string UnregisterManifest = "u";
    private const string DeliverManifest = "d";
    private const string AckManifest = "k";
    private const string ReplyManifest = "p";

    /// <summary>Created by Akka from configuration.</summary>
    public BusSerializer(ExtendedActorSystem system) : base(system) { }

    /// <inheritdoc />
    public override int Identifier => 471176;

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        BusEnvelope => EnvelopeManifest,
        LogAppended => AppendedManifest,
        RegisterMember => RegisterManifest,
        UnregisterMember => UnregisterManifest,
        Deliver => DeliverManifest,
        AckDeliveries => AckManifest,
        BusReply => ReplyManifest,
        _ => throw new ArgumentException($"{nameof(BusSerializer)} cannot serialize '{o.GetType()}'."),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        if (obj is BusEnvelope envelope) return envelope.Wire ??= EnvelopeCodec.Encode(envelope);
        using var stream = new MemoryStream(obj is BusEnvelope e0 ? e0.Data.Length + 96 : 128);
        using (var w = new BinaryWriter(stream))
        {
            switch (obj)
            {
                case LogAppended a: w.Write(a.LogId); w.Write(a.Sequence); break;
                case RegisterMember r: w.Write(r.ConsumerId); w.Write(Akka.Serialization.Serialization.SerializedActorPath(r.Member)); w.Write(r.Prefetch); break;
                case UnregisterMember u: w.Write(u.ConsumerId); w.Write(Akka.Serialization.Serialization.SerializedActorPath(u.Member)); break;
                case Deliver d: w.Write(d.ConsumerId); w.Write(d.Sequence); w.Write(d.DeliveryCount); WriteEnvelope(w, d.Message); break;
                case AckDeliveries k:
                    w.Write(k.ConsumerId);
                    w.Write(k.Sequences.Length);
                    foreach (var s in k.Sequences) w.Write(s);
                    break;
                case BusReply p:
                    w.Write(p.Ok);
                    WriteOpt(w, p.Type);
                    w.Write(p.Data?.Length ?? -1);
                    if (p.Data is not null) w.Write(p.Data);
                    WriteOpt(w, p.ErrorType);
                    WriteOpt(w, p.Error);
                    break;
                default: throw new ArgumentException($"{nameof(BusSerializer)} cannot serialize '{obj.GetType()}'.");
            }
        }
        return stream.ToArray();
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false));
        return manifest switch
        {
            EnvelopeManifest => EnvelopeCodec.Decode(bytes),
            AppendedManifest => new LogAppended(r.ReadString(), r.ReadInt64()),
            RegisterManifest => new RegisterMember(r.ReadString(), Resolve(r.ReadString()), r.ReadInt32()),
            UnregisterManifest => new UnregisterMember(r.ReadString(), Resolve(r.ReadString())),
            DeliverManifest => new Deliver(r.ReadString(), r.ReadInt64(), r.ReadInt32(), ReadEnvelope(r)),
            AckManifest => ReadAck(r),
            ReplyManifest => ReadReply(r),
            _ => throw new System.Runtime.Serialization.SerializationException($"Unknown {nameof(BusSerializer)} manifest '{manifest}'."),
        };
    }

    private IActorRef Resolve(string path) => system.Provider.ResolveActorRef(path);

    private static void WriteEnvelope(BinaryWriter w, BusEnvelope e)
    {
        var bytes = e.Wire ??= EnvelopeCodec.Encode(e);
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    private static BusEnvelope ReadEnvelope(BinaryReader r) => EnvelopeCodec.Decode(r.ReadBytes(r.ReadInt32()));

    private static AckDeliveries ReadAck(BinaryReader r)
    {
        var consumer = r.ReadString();
        var seqs = new long[r.ReadInt32()];
        for (var i = 0; i < seqs.Length; i++) seqs[i] = r.ReadInt64();
        return new AckDeliveries(consumer, seqs);
    }

    private static BusReply ReadReply(BinaryReader r)
    {
        var ok = r.ReadBoolean();
        var type = ReadOpt(r);
        var length = r.ReadInt32();
        var data = length < 0 ? null : r.ReadBytes(length);
        return new BusReply(ok, type, data, ReadOpt(r), ReadOpt(r));
    }

    private static void WriteOpt(BinaryWriter w, string? s)
    {
        w.Write(s is not null);
        if (s is not null) w.Write(s);
    }

    private static string? ReadOpt(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;
}

/// <summary>The envelope's wire form: length-prefixed UTF-8 strings and the payload bytes, written in one pass into an
/// exactly sized array.</summary>
internal static class EnvelopeCodec
{
    private static readonly System.Text.UTF8Encoding Utf8 = new(false, true);

    public static byte[] Encode(BusEnvelope e)
    {
        var size = Str(e.Id) + Str(e.Topic) + Str(e.Type) + 4 + e.Data.Length + 8 + 4 + (e.CorrelationId is null ? 0 : Utf8.GetByteCount(e.CorrelationId)) + 4;
        if (e.Headers is not null)
            foreach (var (k, v) in e.Headers) size += Str(k) + Str(v);
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        var at = 0;
        Put(span, ref at, e.Id);
        Put(span, ref at, e.Topic);
        Put(span, ref at, e.Type);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[at..], e.Data.Length);
        at += 4;
        e.Data.CopyTo(span[at..]);
        at += e.Data.Length;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(span[at..], e.PublishedAtTicks);
        at += 8;
        if (e.CorrelationId is null)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[at..], -1);
            at += 4;
        }
        else Put(span, ref at, e.CorrelationId);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[at..], e.Headers?.Count ?? 0);
        at += 4;
        if (e.Headers is not null)
            foreach (var (k, v) in e.Headers)
            {
                Put(span, ref at, k);
                Put(span, ref at, v);
            }
        return buffer;
    }

    public static BusEnvelope Decode(byte[] bytes)
    {
        ReadOnlySpan<byte> span = bytes;
        var at = 0;
        var id = Get(span, ref at)!;
        var topic = GetCached(span, ref at);
        var type = GetCached(span, ref at);
        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += 4;
        var data = span.Slice(at, length).ToArray();
        at += length;
        var ticks = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
        at += 8;
        var correlation = Get(span, ref at);
        var count = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += 4;
        Dictionary<string, string>? headers = null;
        if (count > 0)
        {
            headers = new Dictionary<string, string>(count);
            for (var i = 0; i < count; i++) headers[Get(span, ref at)!] = Get(span, ref at)!;
        }
        return new BusEnvelope(id, topic, type, data, ticks, correlation, headers);
    }

    private static int Str(string s) => 4 + Utf8.GetByteCount(s);

    private sealed class Interned(byte[] utf8, string value)
    {
        public readonly byte[] Utf8 = utf8;
        public readonly string Value = value;
    }

    // Topic and type names repeat on every message: decode each once (a small lock-free cache; a collision just
    // replaces the entry).
    private static readonly Interned?[] Names = new Interned?[256];

    private static string GetCached(ReadOnlySpan<byte> span, ref int at)
    {
        var n = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        var bytes = span.Slice(at + 4, n);
        at += 4 + n;
        var hash = 2166136261u;
        foreach (var b in bytes) hash = (hash ^ b) * 16777619u;
        var slot = (int)(hash & 255);
        var entry = Volatile.Read(ref Names[slot]);
        if (entry is not null && bytes.SequenceEqual(entry.Utf8)) return entry.Value;
        var value = Utf8.GetString(bytes);
        Volatile.Write(ref Names[slot], new Interned(bytes.ToArray(), value));
        return value;
    }

    private static void Put(Span<byte> span, ref int at, string s)
    {
        var n = Utf8.GetBytes(s, span[(at + 4)..]);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[at..], n);
        at += 4 + n;
    }

    private static string? Get(ReadOnlySpan<byte> span, ref int at)
    {
        var n = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += 4;
        if (n < 0) return null;
        var s = Utf8.GetString(span.Slice(at, n));
        at += n;
        return s;
    }
}
