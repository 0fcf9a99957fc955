#!/bin/sh
# /usr/bin/cnn-studio: the installed app lives in /opt/cnn-studio (one folder, as PyInstaller built it).
exec /opt/cnn-studio/cnn-studio "$@"
