namespace Akka.EventDriven.EventBus;

/// <summary>What a subscription promises about its handler.</summary>
public enum DeliveryGuarantee
{
    /// <summary>A failing handler is not retried: the message goes straight to the dead-letter queue.</summary>
    AtMostOnce,

    /// <summary>A failing handler is retried up to <see cref="SubscriptionOptions.MaxRetries"/> times with exponential
    /// backoff, then the message goes to the dead-letter queue.</summary>
    AtLeastOnce,
}
