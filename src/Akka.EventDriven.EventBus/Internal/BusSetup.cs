using Akka.Actor;
using Akka.Configuration;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>What <see cref="MessageBus"/> checks and binds once when it is created: its serializer and the remoting
/// frame size.</summary>
internal sealed class BusSetup
{
    private BusSetup() { }

    public static void EnsureSerializer(ExtendedActorSystem system)
    {
        if (system.Serialization.FindSerializerForType(typeof(BusEnvelope)) is BusSerializer) return;
        var serializer = new BusSerializer(system);
        system.Serialization.AddSerializer("event-driven-bus", serializer);
        system.Serialization.AddSerializationMap(typeof(IBusWireMessage), serializer);
    }

    /// <summary>A message of max-message-bytes must fit in one remoting frame, or it would be dropped between nodes.</summary>
    public static void CheckFrameSize(Config config, BusSettings settings)
    {
        const string key = "akka.remote.dot-netty.tcp.maximum-frame-size";
        if (!config.HasPath(key)) return;
        var frame = config.GetByteSize(key) ?? long.MaxValue;
        if (settings.MaxMessageBytes + 64 * 1024 > frame)
            throw new ConfigurationException(
                $"akka.event-driven.bus.max-message-bytes ({settings.MaxMessageBytes}) plus 64 KiB of envelope must fit in {key} ({frame}): " +
                "raise the frame size (and send/receive-buffer-size) or lower max-message-bytes.");
    }
}
