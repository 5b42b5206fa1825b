/** Wire codecs for gossip: the authenticated frame, the strict object codec, the metadata codec. */
package io.l4mesh.membership.codec;
